import { describe, expect, it } from 'vitest';
import { createCatalogue, parsePriceRule } from './catalogue';
import { quote } from './quote';
import { MAX_MARKUP_BPS, maxQuoteMicroCents, type PriceRuleInput } from './rule';

const RULE: PriceRuleInput & { params: Record<string, Record<string, unknown>> } = {
  model: 'acme/max-1/text-to-video',
  name: 'Acme Max 1',
  category: 'video',
  unit: 'second',
  baseCostMicroCents: '1000',
  priceVersion: 'max-1',
  effectiveFrom: '2026-01-01T00:00:00Z',
  params: {
    // d is allowed but not in the table (factor 1); c is unpriced (never quoted).
    tier: {
      type: 'enum',
      values: ['a', 'b', 'c', 'd'],
      factors: { a: '0.5', b: '2', c: null },
      default: 'a',
    },
    sound: { type: 'boolean', factors: { true: '1.5' }, default: false },
    duration: { type: 'integer', quantity: true, values: [5, 10], default: 5 },
    // Every value of the range is in the table: its largest factor is 0.75, not 1.
    quality: { type: 'integer', min: 1, max: 3, factors: { 1: '0.5', 2: '0.25', 3: '0.75' }, default: 1 },
  },
};

describe('maxQuoteMicroCents', () => {
  it('is the quote of the dearest input at the largest markup, exactly', () => {
    const rule = parsePriceRule(RULE);
    const dearest = quote({
      model: RULE.model,
      input: { tier: 'b', sound: true, duration: 10, quality: 3 },
      markupBps: MAX_MARKUP_BPS,
      catalogue: createCatalogue([RULE]),
    });
    if (!dearest.ok) throw new Error(dearest.error.message);
    // 1000 × 2 × 1.5 × 10 × 0.75 × 101
    expect(maxQuoteMicroCents(rule)).toBe(2_272_500n);
    expect(dearest.costMicroCents).toBe(2_272_500n);
  });

  it('counts 1 for a range value the table omits', () => {
    const partial = { ...RULE.params.quality, factors: { 1: '0.5', 2: '0.25' } };
    const rule = parsePriceRule({ ...RULE, params: { ...RULE.params, quality: partial } });
    expect(maxQuoteMicroCents(rule)).toBe(3_030_000n); // 1000 × 2 × 1.5 × 10 × 1 × 101
  });
});
