import { describe, expect, it } from 'vitest';
import { ceil, formatRatio, multiply, parseDecimal } from './ratio';

describe('ratio', () => {
  it('parses decimals into exact ratios', () => {
    expect(parseDecimal('1.67')).toEqual({ num: 167n, den: 100n });
    expect(parseDecimal('5')).toEqual({ num: 5n, den: 1n });
    expect(parseDecimal('0.25')).toEqual({ num: 25n, den: 100n });
  });

  it.each(['', '-1', '1e2', '.5', '1.', ' 1', '01'])('rejects %j', (text) => {
    expect(() => parseDecimal(text)).toThrow(TypeError);
  });

  it('rounds up exactly once', () => {
    expect(ceil({ num: 10n, den: 5n })).toBe(2n);
    expect(ceil({ num: 11n, den: 5n })).toBe(3n);
    expect(ceil({ num: 0n, den: 7n })).toBe(0n);
  });

  it('formats terminating ratios as decimals and others as fractions', () => {
    expect(formatRatio({ num: 10250n, den: 10000n })).toBe('1.025');
    expect(formatRatio({ num: 2_500_000n, den: 1n })).toBe('2500000');
    expect(formatRatio({ num: 1n, den: 2n })).toBe('0.5');
    expect(formatRatio({ num: 1n, den: 3n })).toBe('1/3');
    expect(formatRatio(multiply(parseDecimal('300000'), parseDecimal('1.67')))).toBe('501000');
  });
});
