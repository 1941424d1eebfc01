import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CrlfRecords, csvField, csvRecord, csvText } from './csv.ts';

describe('RFC 4180 encoding', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\r', '"cr\r"'],
    ['', ''],
  ])('%j → %j', (input, encoded) => {
    expect(csvField(input)).toBe(encoded);
  });

  it('null is an empty field, bigints are exact, and a real parser reads back what was written', () => {
    const fields = ['x,"y"\r\nz', null, 9_223_372_036_854_775_807n, -1n, 'é', true];
    const line = csvRecord(fields);
    expect(line.endsWith('\r\n')).toBe(true);
    const [row] = parse(line) as string[][];
    expect(row).toEqual(['x,"y"\r\nz', '', '9223372036854775807', '-1', 'é', 'true']);
  });
});

describe('formula-injection guard for text cells', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+SUM(A1)', "'+SUM(A1)"],
    ['-2+3', "'-2+3"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    // The first NON-BLANK character decides: leading spaces, NBSP or a newline do not hide a formula.
    [' =1+2', "' =1+2"],
    ['   +SUM(A1)', "'   +SUM(A1)"],
    ['\u00a0-2+3', "'\u00a0-2+3"],
    ['\n@cmd', "'\n@cmd"],
    [' \u3000\ufeff=x', "' \u3000\ufeff=x"],
    ['  plain', '  plain'],
    ['   ', '   '],
    ['plain', 'plain'],
    ['a=b', 'a=b'],
    ['a =b', 'a =b'],
    ['', ''],
    [null, null],
  ])('%j → %j', (input, guarded) => {
    expect(csvText(input)).toBe(guarded);
  });

  it('numeric cells are never guarded: amounts go through csvField as numbers', () => {
    expect(csvRecord([-12n, '-12.50', csvText('-12.50')])).toBe(`-12,-12.50,'-12.50\r\n`);
  });
});

describe('CrlfRecords (Postgres COPY csv → RFC 4180 CRLF records)', () => {
  // Postgres quotes exactly like csvField; it only ends records with LF instead of CRLF.
  const records = [
    ['1', 'plain', '', '-3'],
    ['2', 'say "hi"', 'a,b', 'line\nbreak'],
    ['3', 'cr\r', '"', '\r\n'],
    ['4', '""', 'x\n"y"\nz', ''],
  ];
  const lf = records.map((r) => `${r.map(csvField).join(',')}\n`).join('');
  const crlf = records.map((r) => csvRecord(r)).join('');

  it('turns record ends (and only those) into CRLF, whatever the chunk boundaries', () => {
    const bytes = new TextEncoder().encode(lf);
    const decode = (parts: Uint8Array[]) => Buffer.concat(parts).toString('utf8');
    // One chunk, then every split into two chunks, then one byte at a time.
    expect(decode([new CrlfRecords().push(bytes)])).toBe(crlf);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const c = new CrlfRecords();
      expect(decode([c.push(bytes.subarray(0, cut)), c.push(bytes.subarray(cut))]), `cut at ${cut}`).toBe(
        crlf,
      );
    }
    const c = new CrlfRecords();
    expect(decode(Array.from(bytes, (_, i) => c.push(bytes.subarray(i, i + 1))))).toBe(crlf);
    expect(parse(crlf)).toEqual(records);
  });
});
