import { describe, expect, it } from 'vitest';
import { header, keyValues, table, toJson, usd } from './format.ts';

describe('CLI formatting', () => {
  it('prints amounts as exact USD', () => {
    expect([usd(12_500_000), usd(1), usd(-1_500_000n), usd('9007199254740993')]).toEqual([
      '$12.50',
      '$0.000001',
      '-$1.50',
      '$9007199254.740993',
    ]);
  });

  it('renders aligned tables with amount columns in USD', () => {
    const out = table(
      [
        { id: 'ten_1', availableMicroCents: 12_500_000, note: null },
        { id: 'ten_22', availableMicroCents: 40_000, note: 'x' },
      ],
      ['id', 'availableMicroCents', 'note'],
    );
    expect(out).toBe(
      ['ID      AVAILABLE (USD)  NOTE', 'ten_1   $12.50           -', 'ten_22  $0.04            x', ''].join(
        '\n',
      ),
    );
    expect(table([], ['id'])).toBe('(none)\n');
    expect(header('upstreamCostMicroCents')).toBe('UPSTREAM COST (USD)');
  });

  it('renders one object as key/value lines, nested one level', () => {
    expect(keyValues({ id: 'ten_1', limits: { maxConcurrentJobs: 3 } })).toBe(
      'ID                          ten_1\nLIMITS MAX CONCURRENT JOBS  3\n',
    );
  });

  it('emits JSON with bigint as strings', () => {
    expect(toJson({ a: 1n })).toBe('{\n  "a": "1"\n}\n');
  });
});
