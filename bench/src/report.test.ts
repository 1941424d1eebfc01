import { describe, expect, it } from 'vitest';
import { checkTarget, diff, fileTimestamp, formatTable, ratio } from './report';

describe('checkTarget', () => {
  const base = { id: 'x', description: 'x', unit: 'x' };
  it('says by how much a minimum is met or missed', () => {
    expect(checkTarget({ ...base, kind: 'min', target: 0.5, actual: 0.6 })).toMatchObject({
      met: true,
      verdict: 'met (20% margin)',
    });
    expect(checkTarget({ ...base, kind: 'min', target: 1, actual: 0.25 })).toMatchObject({
      met: false,
      verdict: 'MISSED by 75%',
    });
  });
  it('says by how much a maximum is met or missed', () => {
    expect(checkTarget({ ...base, kind: 'max', target: 2, actual: 3 })).toMatchObject({
      met: false,
      verdict: 'MISSED by 50%',
    });
    expect(checkTarget({ ...base, kind: 'max', target: 200, actual: 200 })).toMatchObject({ met: true });
  });
  it('never passes what was not measured', () => {
    expect(checkTarget({ ...base, kind: 'max', target: 2, actual: null })).toMatchObject({
      met: null,
      verdict: 'not measured',
    });
  });
});

describe('ratio / diff', () => {
  it('rounds and refuses missing sides', () => {
    expect(ratio(1, 3)).toBe(0.333);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 3)).toBeNull();
    expect(diff(2.5, 1.25)).toBe(1.25);
    expect(diff(undefined, 1)).toBeNull();
  });
});

describe('formatTable', () => {
  it('aligns columns and shows missing values as a dash', () => {
    expect(
      formatTable(
        ['scenario', 'tps'],
        [
          ['a', 1200],
          ['longer name', null],
        ],
      ),
    ).toBe(['scenario      tps', '-----------  ----', 'a            1200', 'longer name     –'].join('\n'));
  });
});

describe('fileTimestamp', () => {
  it('is file-name safe and sortable', () => {
    expect(fileTimestamp(new Date('2026-11-26T05:01:02.345Z'))).toBe('2026-11-26T05-01-02Z');
  });
});
