import { describe, expect, it } from 'vitest';
import { parseUsdInput, usd } from './money.ts';

describe('usd', () => {
  it.each([
    [0, '$0.00'],
    [12_500_000, '$12.50'],
    [1, '$0.000001'],
    [40_000, '$0.04'],
    [-1_500_000, '−$1.50'],
    // Beyond float precision as dollars (2^53 − 1 micro-cents): still exact.
    [Number.MAX_SAFE_INTEGER, '$9007199254.740991'],
    ['123456789012345678', '$123456789012.345678'],
  ])('%s micro-cents → %s', (microCents, text) => {
    expect(usd(microCents)).toBe(text);
  });
});

describe('parseUsdInput', () => {
  it.each([
    ['12.50', 12_500_000n],
    [' $1,000 ', 1_000_000_000n],
    ['0.000001', 1n],
    ['99999999999999.999999', 99_999_999_999_999_999_999n],
  ])('%j → %s micro-cents', (text, microCents) => {
    expect(parseUsdInput(text)).toEqual({ ok: true, microCents });
  });

  it('takes a sign only where asked (adjustments)', () => {
    expect(parseUsdInput('-2.50', { signed: true })).toEqual({ ok: true, microCents: -2_500_000n });
    expect(parseUsdInput('-$2.50', { signed: true })).toEqual({ ok: true, microCents: -2_500_000n });
    expect(parseUsdInput('-2.50')).toEqual({ ok: false, error: 'The amount must be positive' });
  });

  it.each([
    ['', /Enter an amount/],
    ['1e3', /plain amount/],
    ['12.5.0', /plain amount/],
    ['0.0000001', /At most 6 decimals/],
    ['0', /must not be zero/],
    ['abc', /plain amount/],
  ])('refuses %j', (text, error) => {
    const r = parseUsdInput(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });
});
