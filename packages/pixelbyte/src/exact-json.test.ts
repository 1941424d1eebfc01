import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonExact } from './exact-json.ts';

describe('parseJsonExact', () => {
  it.each([
    '{}',
    '[]',
    'null',
    'true',
    '"x"',
    '0',
    '-0',
    '12.5',
    '1e3',
    '-2.5E-3',
    '9007199254740991',
    '-9007199254740991',
    '{"a":[1,2,{"b":"c\\"d\\\\e\\u00e9\\n"}],"n":null,"t":true,"f":false}',
    ' \n { "spaced" : [ 1 , 2 ] } \t',
    '{"":"empty key","dup":1,"dup":2}',
  ])('matches JSON.parse on %s', (text) => {
    expect(parseJsonExact(text)).toEqual(JSON.parse(text));
  });

  it('keeps integers beyond 2^53 exact as bigint', () => {
    expect(parseJsonExact('{"costMicroCents":12345678901234567890}')).toEqual({
      costMicroCents: 12345678901234567890n,
    });
    expect(parseJsonExact('[-9007199254740993]')).toEqual([-9007199254740993n]);
  });

  it('keeps non-integer and exponent literals as numbers (callers reject them where integers are required)', () => {
    expect(parseJsonExact('12345678901234567890.5')).toBe(Number('12345678901234567890.5'));
    expect(parseJsonExact('1e20')).toBe(1e20);
  });

  it('makes "__proto__" an own property, like JSON.parse', () => {
    const parsed = parseJsonExact('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    '',
    '{',
    '{"a":1,}',
    '[1,]',
    '01',
    '+1',
    '.5',
    'NaN',
    'tru',
    '"unterminated',
    '"bad \\x escape"',
    '"raw \n newline"',
    '{"a" 1}',
    '{a:1}',
    '[1] x',
  ])('rejects invalid JSON %j', (text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => parseJsonExact(text)).toThrow(JsonSyntaxError);
  });

  it('rejects absurd nesting instead of overflowing the stack', () => {
    expect(() => parseJsonExact('['.repeat(10_000) + ']'.repeat(10_000))).toThrow(JsonSyntaxError);
  });
});
