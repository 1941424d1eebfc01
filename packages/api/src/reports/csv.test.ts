import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from './csv.ts';

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
