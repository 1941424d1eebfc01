import { describe, expect, it } from 'vitest';
import { createCatalogue, PriceRuleError, parsePriceRule, resolveCatalogue } from './catalogue';
import { DEFAULT_PRICE_RULES, defaultCatalogue, MODEL_SLUGS } from './default-catalogue';
import { quote } from './quote';
import { type PriceRuleInput, priceRuleSchema, priceRuleToJson } from './rule';

const WAN_PLUS = 'alibaba-plus/wan-2.6-flash/image-to-video';
const I2V = { prompt: 'a fox', image_url: 'https://cdn.example.com/in.png' };

// A copy-pasteable JSON rule (the README shows the same shape).
const NEW_MODEL_JSON = `{
  "model": "acme/dream-1/text-to-video",
  "name": "Acme Dream 1 text-to-video",
  "category": "video",
  "unit": "second",
  "baseCostMicroCents": "90000",
  "priceVersion": "acme-2026-07",
  "effectiveFrom": "2026-07-01T00:00:00Z",
  "params": {
    "prompt": { "type": "string", "required": true, "minLength": 1, "maxLength": 5000 },
    "duration": { "type": "integer", "quantity": true, "values": [5, 10], "default": 5 },
    "resolution": { "type": "enum", "values": ["720p", "1080p"], "factors": { "1080p": "1.25" }, "default": "720p" }
  }
}`;

function wanOverride(overrides: Partial<PriceRuleInput>): PriceRuleInput {
  const base = DEFAULT_PRICE_RULES[0];
  if (base === undefined) throw new Error('no seed rule');
  return { ...base, ...overrides };
}

describe('priceRuleSchema', () => {
  it('parses a JSON rule with the amount as a decimal string or a number', () => {
    const fromString = priceRuleSchema.parse(JSON.parse(NEW_MODEL_JSON));
    expect(fromString.baseCostMicroCents).toBe(90_000n);
    const fromNumber = priceRuleSchema.parse({ ...JSON.parse(NEW_MODEL_JSON), baseCostMicroCents: 90000 });
    expect(fromNumber.baseCostMicroCents).toBe(90_000n);
  });

  it('round-trips through priceRuleToJson and JSON', () => {
    for (const rule of defaultCatalogue.rules) {
      const again = priceRuleSchema.parse(JSON.parse(JSON.stringify(priceRuleToJson(rule))));
      expect(again).toEqual(rule);
    }
  });

  const valid = JSON.parse(NEW_MODEL_JSON) as Record<string, unknown> & { params: Record<string, unknown> };
  it.each<[string, Record<string, unknown>, string]>([
    ['zero base cost', { ...valid, baseCostMicroCents: 0 }, 'baseCostMicroCents'],
    ['fractional base cost', { ...valid, baseCostMicroCents: '1.5' }, 'baseCostMicroCents'],
    ['unsafe number base cost', { ...valid, baseCostMicroCents: 2 ** 60 }, 'baseCostMicroCents'],
    ['non-UTC-ISO effectiveFrom', { ...valid, effectiveFrom: 'July 1st' }, 'effectiveFrom'],
    ['unknown rule key', { ...valid, discount: '0.5' }, '(rule)'],
    ['unknown unit', { ...valid, unit: 'minute' }, 'unit'],
    [
      'missing quantity on a per-second model',
      { ...valid, params: { prompt: valid.params.prompt } },
      'params',
    ],
    ['quantity on a per-request model', { ...valid, unit: 'request' }, 'params'],
    [
      'zero factor',
      {
        ...valid,
        params: {
          ...valid.params,
          resolution: { type: 'enum', values: ['720p'], factors: { '720p': '0' }, default: '720p' },
        },
      },
      'params.resolution.factors.720p',
    ],
    [
      'float-looking factor',
      {
        ...valid,
        params: {
          ...valid.params,
          resolution: { type: 'enum', values: ['720p'], factors: { '720p': '1e2' }, default: '720p' },
        },
      },
      'params.resolution.factors.720p',
    ],
    [
      'factor for a value not allowed',
      {
        ...valid,
        params: {
          ...valid.params,
          resolution: { type: 'enum', values: ['720p'], factors: { '4k': '2' }, default: '720p' },
        },
      },
      'params.resolution',
    ],
    [
      'priced param without default',
      {
        ...valid,
        params: {
          ...valid.params,
          resolution: { type: 'enum', values: ['720p', '4k'], factors: { '4k': '2' } },
        },
      },
      'params.resolution',
    ],
    [
      'default outside the allowed set',
      {
        ...valid,
        params: {
          ...valid.params,
          duration: { type: 'integer', quantity: true, values: [5, 10], default: 7 },
        },
      },
      'params.duration',
    ],
    [
      'unpriced default',
      {
        ...valid,
        params: {
          ...valid.params,
          resolution: { type: 'enum', values: ['720p'], factors: { '720p': null }, default: '720p' },
        },
      },
      'params.resolution',
    ],
    [
      'quantity allowing zero (free)',
      {
        ...valid,
        params: {
          ...valid.params,
          duration: { type: 'integer', quantity: true, min: 0, max: 10, default: 5 },
        },
      },
      'params.duration',
    ],
    [
      'priced integer without bounds',
      { ...valid, params: { ...valid.params, duration: { type: 'integer', quantity: true, default: 5 } } },
      'params.duration',
    ],
    [
      'reserved param name',
      { ...valid, params: { ...valid.params, markup: { type: 'string' } } },
      'params.markup',
    ],
    ['unknown param type', { ...valid, params: { ...valid.params, x: { type: 'float' } } }, 'params.x.type'],
    [
      'bad regex pattern',
      { ...valid, params: { ...valid.params, x: { type: 'string', pattern: '(' } } },
      'params.x',
    ],
  ])('rejects %s', (_name, rule, path) => {
    const result = priceRuleSchema.safeParse(rule);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.map(String).join('.') || '(rule)');
    expect(paths).toContain(path);
  });
});

describe('createCatalogue', () => {
  it('holds every documented model, validated and frozen', () => {
    expect(defaultCatalogue.models).toEqual([...MODEL_SLUGS]);
    const rule = defaultCatalogue.get(WAN_PLUS);
    expect(Object.isFrozen(rule)).toBe(true);
    expect(Object.isFrozen(rule?.params.duration)).toBe(true);
    expect(defaultCatalogue.get('nope/model')).toBeUndefined();
  });

  it('throws a PriceRuleError naming the model and the problem', () => {
    const bad = { ...JSON.parse(NEW_MODEL_JSON), baseCostMicroCents: -1 };
    expect(() => createCatalogue([bad])).toThrow(PriceRuleError);
    expect(() => createCatalogue([bad])).toThrow(/acme\/dream-1\/text-to-video.*baseCostMicroCents/);
  });

  it('refuses a model twice', () => {
    const rule = JSON.parse(NEW_MODEL_JSON);
    expect(() => createCatalogue([rule, rule])).toThrow(/appears twice/);
  });

  it('prices a model added at runtime from JSON', () => {
    const catalogue = createCatalogue([JSON.parse(NEW_MODEL_JSON)]);
    const result = quote({
      model: 'acme/dream-1/text-to-video',
      input: { prompt: 'p', duration: '10', resolution: '1080p' },
      catalogue,
    });
    expect(result.ok && result.costMicroCents).toBe(1_125_000n);
  });
});

describe('resolveCatalogue', () => {
  const cheap = wanOverride({
    baseCostMicroCents: 400_000n,
    priceVersion: 'v2',
    effectiveFrom: '2026-06-01T00:00:00Z',
  });
  const cheaper = wanOverride({
    baseCostMicroCents: 300_000n,
    priceVersion: 'v3',
    effectiveFrom: '2026-09-01T00:00:00Z',
  });
  const future = wanOverride({
    baseCostMicroCents: 1n,
    priceVersion: 'v4',
    effectiveFrom: '2027-01-01T00:00:00Z',
  });
  const overrides = [cheaper, future, cheap];

  function priceAt(at: string, extra: readonly PriceRuleInput[] = overrides) {
    const result = quote({
      model: WAN_PLUS,
      input: I2V,
      catalogue: resolveCatalogue(defaultCatalogue, extra, new Date(at)),
    });
    if (!result.ok) throw new Error(result.error.message);
    return [result.costMicroCents, result.priceVersion];
  }

  it('keeps the base rule before any override is effective', () => {
    expect(priceAt('2026-05-31T23:59:59.999Z')).toEqual([2_500_000n, 'pixelbyte-docs-2026-01']);
  });

  it('applies the override with the latest effectiveFrom ≤ at, whatever the array order', () => {
    expect(priceAt('2026-06-01T00:00:00.000Z')).toEqual([2_000_000n, 'v2']);
    expect(priceAt('2026-08-31T23:59:59.999Z')).toEqual([2_000_000n, 'v2']);
    expect(priceAt('2026-09-01T00:00:00.000Z')).toEqual([1_500_000n, 'v3']);
    expect(priceAt('2026-12-31T00:00:00.000Z')).toEqual([1_500_000n, 'v3']);
    expect(priceAt('2027-01-01T00:00:00.000Z')).toEqual([5n, 'v4']);
  });

  it('lets the later entry win a tie', () => {
    const tie = wanOverride({
      baseCostMicroCents: 600_000n,
      priceVersion: 'v2b',
      effectiveFrom: cheap.effectiveFrom,
    });
    expect(priceAt('2026-07-01T00:00:00Z', [cheap, tie])).toEqual([3_000_000n, 'v2b']);
    expect(priceAt('2026-07-01T00:00:00Z', [tie, cheap])).toEqual([2_000_000n, 'v2']);
  });

  it('makes a model that exists only in overrides available once effective', () => {
    const rule = JSON.parse(NEW_MODEL_JSON);
    const before = resolveCatalogue(defaultCatalogue, [rule], new Date('2026-06-30T23:59:59Z'));
    expect(before.get(rule.model)).toBeUndefined();
    const after = resolveCatalogue(defaultCatalogue, [rule], new Date('2026-07-01T00:00:00Z'));
    expect(after.models).toEqual([...MODEL_SLUGS, rule.model]);
    expect(after.get(rule.model)?.baseCostMicroCents).toBe(90_000n);
  });

  it('leaves the base catalogue untouched', () => {
    resolveCatalogue(defaultCatalogue, overrides, new Date('2027-06-01T00:00:00Z'));
    expect(defaultCatalogue.get(WAN_PLUS)?.baseCostMicroCents).toBe(500_000n);
  });

  it('validates overrides and the date', () => {
    expect(() =>
      resolveCatalogue(
        defaultCatalogue,
        [wanOverride({ baseCostMicroCents: 0n })],
        new Date('2027-01-01T00:00:00Z'),
      ),
    ).toThrow(PriceRuleError);
    expect(() => resolveCatalogue(defaultCatalogue, [], new Date('not a date'))).toThrow(RangeError);
  });

  it('reuses an already parsed rule as-is', () => {
    const parsed = parsePriceRule(cheap);
    expect(parsePriceRule(parsed)).toBe(parsed);
    const catalogue = resolveCatalogue(defaultCatalogue, [parsed], new Date('2026-07-01T00:00:00Z'));
    expect(catalogue.get(WAN_PLUS)).toBe(parsed);
  });
});
