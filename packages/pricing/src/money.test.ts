import { describe, expect, it } from 'vitest';
import { formatUsd, fromSafeNumber, MICRO_CENTS_PER_USD, parseUsd, toSafeNumber } from './money';

describe('parseUsd', () => {
  it.each([
    ['12.50', 12_500_000n],
    ['12.5', 12_500_000n],
    ['12', 12_000_000n],
    ['0', 0n],
    ['0.000001', 1n],
    ['-3', -3_000_000n],
    ['-0.000001', -1n],
    ['-0', 0n],
    ['007.10', 7_100_000n],
    ['123456789012345.678901', 123_456_789_012_345_678_901n],
  ])('parses %j exactly as %s micro-cents', (text, expected) => {
    expect(parseUsd(text)).toBe(expected);
  });

  it.each(['abc', '', '1e3', ' 1', '1 ', '+1', '.5', '1.', '1,5', '--1', '0x10', 'NaN', 'Infinity', '1.2.3'])(
    'rejects %j with a TypeError',
    (text) => {
      expect(() => parseUsd(text)).toThrow(TypeError);
    },
  );

  it('rejects more than 6 decimals with a RangeError instead of rounding', () => {
    expect(() => parseUsd('1.2345678')).toThrow(RangeError);
    expect(() => parseUsd('1.2345678')).toThrow(/6 decimals/);
  });

  it('rejects a non-string', () => {
    expect(() => parseUsd(12.5 as unknown as string)).toThrow(TypeError);
  });
});

describe('formatUsd', () => {
  it.each([
    [12_500_000n, '12.50'],
    [1n, '0.000001'],
    [0n, '0.00'],
    [10n, '0.00001'],
    [1_000_000n, '1.00'],
    [1_230_000n, '1.23'],
    [1_234_500n, '1.2345'],
    [-1n, '-0.000001'],
    [-12_500_000n, '-12.50'],
    [123_456_789_012_345_678_901n, '123456789012345.678901'],
  ])('formats %s micro-cents as %j', (microCents, expected) => {
    expect(formatUsd(microCents)).toBe(expected);
  });

  it('round-trips with parseUsd', () => {
    for (const value of [0n, 1n, -1n, 999_999n, 1_000_001n, -98_765_432_100n]) {
      expect(parseUsd(formatUsd(value))).toBe(value);
    }
  });

  it('rejects a number', () => {
    expect(() => formatUsd(1 as unknown as bigint)).toThrow(TypeError);
  });
});

describe('toSafeNumber / fromSafeNumber', () => {
  it('converts safe amounts both ways', () => {
    expect(toSafeNumber(2_500_000n)).toBe(2_500_000);
    expect(toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSafeNumber(BigInt(Number.MIN_SAFE_INTEGER))).toBe(Number.MIN_SAFE_INTEGER);
    expect(fromSafeNumber(2_500_000)).toBe(2_500_000n);
  });

  it('throws on amounts a JSON number cannot carry exactly', () => {
    expect(() => toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toThrow(RangeError);
    expect(() => toSafeNumber(BigInt(Number.MIN_SAFE_INTEGER) - 1n)).toThrow(RangeError);
    expect(() => fromSafeNumber(1.5)).toThrow(RangeError);
    expect(() => fromSafeNumber(2 ** 53)).toThrow(RangeError);
    expect(() => fromSafeNumber(Number.NaN)).toThrow(RangeError);
  });

  it('has one million micro-cents per dollar', () => {
    expect(MICRO_CENTS_PER_USD).toBe(1_000_000n);
  });
});
