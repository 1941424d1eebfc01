import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCatalogue } from './catalogue';
import { defaultCatalogue } from './default-catalogue';
import { type QuoteResult, type QuoteSuccess, quote } from './quote';
import { ceil, formatRatio, multiply, ONE, parseDecimal } from './ratio';
import type { ParamSpec, PriceRule, PriceRuleInput } from './rule';

const URL = 'https://cdn.example.com/in.png';

function ok(result: QuoteResult): QuoteSuccess {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

/** Values of a param that are allowed and priced (non-null factor), or undefined if unpriced. */
function pricedValues(spec: ParamSpec): (string | number | boolean)[] | undefined {
  switch (spec.type) {
    case 'enum':
      return spec.factors === undefined ? undefined : spec.values.filter((v) => spec.factors?.[v] !== null);
    case 'boolean':
      return spec.factors === undefined
        ? undefined
        : [true, false].filter((v) => spec.factors?.[`${v}`] !== null);
    case 'integer': {
      if (spec.quantity !== true && spec.factors === undefined) return undefined;
      const all =
        spec.values ??
        Array.from({ length: (spec.max ?? 0) - (spec.min ?? 0) + 1 }, (_, index) => (spec.min ?? 0) + index);
      return all.filter((v) => spec.factors?.[String(v)] !== null);
    }
    default:
      return undefined;
  }
}

/** The required unpriced inputs a rule needs (fixed values). */
function requiredInput(rule: PriceRule): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    if (spec.required !== true) continue;
    if (spec.type === 'string') input[name] = spec.format === 'url' ? URL : 'x';
    if (spec.type === 'string-array')
      input[name] = Array.from({ length: Math.max(1, spec.minItems ?? 1) }, () => URL);
  }
  return input;
}

/** A valid input for the rule: random priced values (sometimes in their string form). */
function arbInput(rule: PriceRule): fc.Arbitrary<Record<string, unknown>> {
  const priced: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    const values = pricedValues(spec);
    if (values === undefined || values.length === 0) continue;
    priced[name] = fc
      .tuple(fc.constantFrom(...values), fc.boolean())
      .map(([value, asString]) => (asString && typeof value !== 'string' ? String(value) : value));
  }
  return fc.record(priced).map((values) => ({ ...requiredInput(rule), ...values }));
}

const arbModelInput = fc
  .constantFrom(...defaultCatalogue.rules)
  .chain((rule) => arbInput(rule).map((input) => ({ rule, input })));
const arbMarkup = fc.integer({ min: 0, max: 1_000_000 });

/** A random but coherent admin rule: per-second, big base costs, odd decimal factors. */
const arbDecimal = fc
  .tuple(fc.integer({ min: 1, max: 99_999 }), fc.integer({ min: 0, max: 4 }))
  .map(([digits, scale]) => formatRatio({ num: BigInt(digits), den: 10n ** BigInt(scale) }));
const arbRule: fc.Arbitrary<PriceRuleInput> = fc
  .record({
    base: fc.bigInt({ min: 1n, max: 10n ** 15n }),
    min: fc.integer({ min: 1, max: 5 }),
    span: fc.integer({ min: 0, max: 20 }),
    hd: arbDecimal,
    sound: arbDecimal,
  })
  .map(({ base, min, span, hd, sound }) => ({
    model: 'acme/random/text-to-video',
    name: 'Random',
    category: 'video' as const,
    unit: 'second' as const,
    baseCostMicroCents: base,
    priceVersion: 'random-1',
    effectiveFrom: '2026-01-01T00:00:00Z',
    params: {
      prompt: { type: 'string' as const, required: true },
      duration: { type: 'integer' as const, quantity: true, min, max: min + span, default: min },
      resolution: { type: 'enum' as const, values: ['sd', 'hd'], factors: { hd }, default: 'sd' },
      has_sound: { type: 'boolean' as const, factors: { true: sound }, default: false },
    },
  }));

function checkInvariants(result: QuoteSuccess, markupBps: number): void {
  // integer, positive, never below the list price
  expect(typeof result.costMicroCents).toBe('bigint');
  expect(typeof result.listCostMicroCents).toBe('bigint');
  expect(result.listCostMicroCents > 0n).toBe(true);
  expect(result.costMicroCents >= result.listCostMicroCents).toBe(true);
  // the breakdown multiplies out to the exact price; rounding up once gives the total, which is
  // never below the exact price and less than one micro-cent above it
  const exact = result.breakdown.reduce((total, line) => multiply(total, parseDecimal(line.factor)), ONE);
  expect(formatRatio(exact)).toBe(result.exactCostMicroCents);
  expect(ceil(exact)).toBe(result.costMicroCents);
  const excess = result.costMicroCents * exact.den - exact.num;
  expect(excess >= 0n && excess < exact.den).toBe(true);
  const list = result.breakdown
    .filter((line) => line.kind !== 'markup')
    .reduce((total, line) => multiply(total, parseDecimal(line.factor)), ONE);
  expect(ceil(list)).toBe(result.listCostMicroCents);
  // markup applies to the exact list product, not to the rounded list price
  const marked = multiply(list, { num: 10_000n + BigInt(markupBps), den: 10_000n });
  expect(ceil(marked)).toBe(result.costMicroCents);
  expect(result.breakdown.at(-1)).toMatchObject({ kind: 'markup', bps: markupBps });
}

describe('quote properties', () => {
  it('every catalogue quote is an exact, rounded-up product of its breakdown', () => {
    fc.assert(
      fc.property(arbModelInput, arbMarkup, ({ rule, input }, markupBps) => {
        checkInvariants(ok(quote({ model: rule.model, input, markupBps })), markupBps);
      }),
      { numRuns: 500 },
    );
  });

  it('is monotone in markup', () => {
    fc.assert(
      fc.property(arbModelInput, arbMarkup, arbMarkup, ({ rule, input }, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const cheap = ok(quote({ model: rule.model, input, markupBps: low }));
        const dear = ok(quote({ model: rule.model, input, markupBps: high }));
        expect(cheap.costMicroCents <= dear.costMicroCents).toBe(true);
        expect(cheap.listCostMicroCents).toBe(dear.listCostMicroCents);
      }),
      { numRuns: 300 },
    );
  });

  it('is monotone in duration (and in num_images)', () => {
    const quantityModels = defaultCatalogue.rules.filter((rule) => rule.unit !== 'request');
    const arb = fc.constantFrom(...quantityModels).chain((rule) => {
      const [name, spec] =
        Object.entries(rule.params).find(([, p]) => p.type === 'integer' && p.quantity === true) ?? [];
      const values = spec === undefined ? [] : (pricedValues(spec) ?? []);
      return fc.record({
        rule: fc.constant(rule),
        name: fc.constant(name ?? ''),
        input: arbInput(rule),
        a: fc.constantFrom(...values),
        b: fc.constantFrom(...values),
        markupBps: arbMarkup,
      });
    });
    fc.assert(
      fc.property(arb, ({ rule, name, input, a, b, markupBps }) => {
        const [low, high] = Number(a) <= Number(b) ? [a, b] : [b, a];
        const short = ok(quote({ model: rule.model, input: { ...input, [name]: low }, markupBps }));
        const long = ok(quote({ model: rule.model, input: { ...input, [name]: high }, markupBps }));
        expect(short.costMicroCents <= long.costMicroCents).toBe(true);
        expect(short.listCostMicroCents <= long.listCostMicroCents).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('holds for random admin rules with large amounts and odd factors', () => {
    fc.assert(
      fc.property(
        arbRule,
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.constantFrom('sd', 'hd'),
        fc.boolean(),
        arbMarkup,
        (input, d1, d2, resolution, hasSound, markupBps) => {
          const catalogue = createCatalogue([input]);
          const rule = catalogue.get(input.model);
          const duration = rule?.params.duration;
          if (duration?.type !== 'integer' || duration.min === undefined || duration.max === undefined) {
            throw new Error('generator broke');
          }
          const clamp = (d: number) => Math.min(duration.max ?? 0, (duration.min ?? 0) + d);
          const [low, high] = [clamp(Math.min(d1, d2)), clamp(Math.max(d1, d2))];
          const at = (seconds: number, bps: number) =>
            ok(
              quote({
                model: input.model,
                input: { prompt: 'p', duration: seconds, resolution, has_sound: hasSound },
                markupBps: bps,
                catalogue,
              }),
            );
          checkInvariants(at(low, markupBps), markupBps);
          expect(at(low, markupBps).costMicroCents <= at(high, markupBps).costMicroCents).toBe(true);
          expect(at(high, 0).costMicroCents <= at(high, markupBps).costMicroCents).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
