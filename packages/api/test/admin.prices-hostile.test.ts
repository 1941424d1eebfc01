// A careless (or hostile) admin's price override must not break pricing for every tenant, and a
// tenant's input must not turn an admin's pattern into a denial of service (issue 23, item 8).
import { defaultCatalogue, priceRuleToJson } from '@tollgate/pricing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_MODEL, expectTRPCError, type Harness, rowCounts, startHarness } from './harness.ts';

const MODEL = 'acme/pattern-1/text-to-image';

function patternRule(params: Record<string, unknown>, priceVersion: string): Record<string, unknown> {
  return {
    model: MODEL,
    name: 'Acme Pattern 1',
    category: 'image',
    unit: 'request',
    baseCostMicroCents: '50000',
    priceVersion,
    effectiveFrom: '2000-01-01T00:00:00Z',
    params,
  };
}

describe('admin.prices.upsert: overrides that would break quotes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const past = () => new Date(Date.now() - 60_000).toISOString();

  it('a base cost or factor whose dearest quote leaves the safe-integer range → 400, nothing stored, every tenant still priced', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000, markupBps: 1_000_000 });
    const cheap = defaultCatalogue.get(CHEAP_MODEL);
    if (!cheap) throw new Error('catalogue');
    const before = await rowCounts(h.db);
    // 2^53 / 101 ≈ 8.9e13: at the largest markup (×101) this base alone is past the limit.
    const hugeBase = {
      ...priceRuleToJson(cheap),
      baseCostMicroCents: '90000000000000',
      priceVersion: 'huge-1',
    };
    const veo = defaultCatalogue.rules.find((r) => r.unit === 'second');
    if (!veo) throw new Error('no per-second model');
    // A factor and the quantity: each under the limit alone, past it together.
    const [factorParam] = Object.entries(veo.params).filter(
      ([, s]) => s.type === 'enum' && s.factors !== undefined,
    );
    if (!factorParam) throw new Error('no enum factor param');
    const [name, spec] = factorParam;
    if (spec.type !== 'enum') throw new Error('enum');
    const hugeFactor = {
      ...priceRuleToJson(veo),
      priceVersion: 'huge-2',
      params: {
        ...veo.params,
        [name]: { ...spec, factors: { ...spec.factors, [spec.values[0] as string]: '99999999999' } },
      },
    };
    for (const rule of [hugeBase, hugeFactor]) {
      const e = await expectTRPCError(h.admin.admin.prices.upsert.mutate({ rule, effectiveFrom: past() }));
      expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PRICE_RULE' });
      expect(e.message).toMatch(/dearest quote .* past the safe-integer limit/);
      expect(e.details).toMatchObject({ issues: [{ path: 'baseCostMicroCents' }] });
    }
    expect(await rowCounts(h.db), 'nothing stored, nothing audited').toEqual(before);
    // Every tenant can still list models and quote (at the largest markup too).
    expect((await client.models.list.query()).items.length).toBeGreaterThan(0);
    await client.pricing.quote.query({ model: CHEAP_MODEL, input: { prompt: 'x' } });
    // Just inside the limit is accepted: base × 101 ≤ 2^53 − 1.
    const edge = Math.floor(Number.MAX_SAFE_INTEGER / 101);
    const ok = await h.admin.admin.prices.upsert.mutate({
      rule: { ...priceRuleToJson(cheap), baseCostMicroCents: String(edge), priceVersion: 'edge-1' },
      effectiveFrom: new Date(Date.now() + 86_400_000).toISOString(), // pending: does not reprice the other tests
    });
    expect(ok.replayed).toBe(false);
  });

  it('a catastrophic pattern (^(a+)+$) is matched in linear time: a long hostile input is answered at once', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    await h.admin.admin.prices.upsert.mutate({
      rule: patternRule({ prompt: { type: 'string', required: true, pattern: '^(a+)+$' } }, 'p-1'),
      effectiveFrom: past(),
    });
    // With RegExp this input would backtrack for longer than the universe exists (2^4000 paths):
    // the test would hang. Linear matching answers immediately.
    const hostile = `${'a'.repeat(4_000)}!`;
    const e = await expectTRPCError(client.pricing.quote.query({ model: MODEL, input: { prompt: hostile } }));
    expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    expect(e.message).toContain('must match ^(a+)+$');
    expect(await client.pricing.quote.query({ model: MODEL, input: { prompt: 'aaaa' } })).toMatchObject({
      costMicroCents: 50_000,
    });
    // The input is bounded too: longer than 4,096 characters is refused before any matching.
    const long = await expectTRPCError(
      client.pricing.quote.query({ model: MODEL, input: { prompt: 'a'.repeat(5_000) } }),
    );
    expect(long.message).toContain('at most 4096 characters');
    const listed = (await client.models.list.query()).items.find((m) => m.model === MODEL);
    expect(listed?.inputJsonSchema).toMatchObject({
      properties: { prompt: { pattern: '^(a+)+$', maxLength: 4096 } },
    });
  });

  it('patterns no linear-time engine can match (backreferences, lookarounds) → 400 at upsert, nothing stored', async () => {
    const before = await rowCounts(h.db);
    for (const pattern of ['^(a+)\\1$', '^(?=a)a+$']) {
      const e = await expectTRPCError(
        h.admin.admin.prices.upsert.mutate({
          rule: patternRule({ prompt: { type: 'string', required: true, pattern } }, 'p-bad'),
          effectiveFrom: past(),
        }),
      );
      expect(e, pattern).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PRICE_RULE' });
      expect(e.message, pattern).toContain('cannot be matched in linear time');
    }
    expect(await rowCounts(h.db)).toEqual(before);
  });
});
