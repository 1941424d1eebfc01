import { describe, expect, it } from 'vitest';
import { createCatalogue } from './catalogue';
import { DEFAULT_PRICE_VERSION, MODEL_SLUGS } from './default-catalogue';
import { type QuoteResult, type QuoteSuccess, quote } from './quote';
import type { PriceRuleInput } from './rule';

const IMG = 'https://cdn.example.com/in.png';
const IMG2 = 'https://cdn.example.com/last.png';
const VID = 'https://cdn.example.com/in.mp4';

// Minimal valid inputs per kind of model (only the required, unpriced params).
const T2V = { prompt: 'a fox in the snow' };
const I2V = { prompt: 'a fox in the snow', image_url: IMG };
const REF = { prompt: 'a fox in the snow', image_urls: [IMG] };
const SEF = { image_urls: [IMG, IMG2] };
const EXT = { video_url: VID };
const T2I = { prompt: 'a fox in the snow' };
const I2I = { prompt: 'a fox in the snow', image_url: IMG };
const EDIT = { prompt: 'make it winter', image_urls: [IMG] };

// "doc" = the Def column of pixelbyte-api.md; "computed" = the docs give no default cost
// (Def "–" or the per-image/per-request table, which has no Def column): base × the defaults.
const DEFAULT_COSTS: ReadonlyArray<[model: string, input: object, cost: bigint, source: 'doc' | 'computed']> =
  [
    ['alibaba-plus/wan-2.6-flash/image-to-video', I2V, 2_500_000n, 'doc'],
    ['alibaba/wan-2.6-flash/image-to-video', I2V, 250_000n, 'doc'],
    ['alibaba-plus/wan-2.6/video-extend', EXT, 750_000n, 'doc'],
    ['alibaba-plus/wan-2.7/reference-to-video', REF, 1_125_000n, 'doc'],
    ['google/veo-3.1-fast/text-to-video', T2V, 2_400_000n, 'doc'],
    ['google/veo-3.1-fast/image-to-video', I2V, 2_400_000n, 'doc'],
    ['google/veo-3.1-fast/reference-to-video', REF, 2_400_000n, 'doc'],
    ['google/veo-3.1/reference-to-video', REF, 2_400_000n, 'computed'],
    ['google/veo-3.1-fast/start-end-frame-to-video', SEF, 400_000n, 'doc'],
    ['google/veo-3.1-ecl/image-to-video', I2V, 800_000n, 'doc'],
    ['google/veo-3.1-ecl/start-end-frame-to-video', SEF, 800_000n, 'doc'],
    ['openai/sora-2/text-to-video', T2V, 400_000n, 'doc'],
    ['openai/sora-2-pro/text-to-video', T2V, 1_200_000n, 'doc'],
    ['openai/sora-2-pro/image-to-video', I2V, 1_200_000n, 'doc'],
    ['runway/gen-4.5/text-to-video', T2V, 600_000n, 'doc'],
    ['runway/gen-4/image-to-video', I2V, 500_000n, 'doc'],
    ['runway/gen-4-turbo/image-to-video', I2V, 250_000n, 'doc'],
    ['kling-plus/kling-2.1-master/text-to-video', T2V, 200_000n, 'doc'],
    ['kling-plus/kling-2.5-turbo-pro/text-to-video', T2V, 250_000n, 'doc'],
    ['kling-plus/kling-2.1-pro/image-to-video', I2V, 250_000n, 'doc'],
    ['kling-plus/kling-o1-standard/reference-to-video', REF, 250_000n, 'doc'],
    ['kling-plus/kling-o1-standard/start-end-frame-to-video', SEF, 250_000n, 'doc'],
    ['kling/kling-3.0-standard/text-to-video', T2V, 420_000n, 'doc'],
    ['kling/kling-2.6-pro/text-to-video', T2V, 350_000n, 'doc'],
    ['bytedance/seedance-2.0/image-to-video', I2V, 1_200_000n, 'doc'],
    ['bytedance/seedance-2.0-fast/text-to-video', T2V, 1_000_000n, 'doc'],
    ['google/nano-banana', T2I, 40_000n, 'computed'],
    ['google/nano-banana/edit-image', EDIT, 40_000n, 'computed'],
    ['google/nano-banana-pro/text-to-image', T2I, 134_000n, 'computed'],
    ['google/nano-banana-pro/edit-image', EDIT, 134_000n, 'computed'],
    ['google/nano-banana-pro-extra/edit-image', EDIT, 134_000n, 'computed'],
    ['google/nano-banana-dev/text-to-image', T2I, 40_000n, 'computed'],
    ['pixelbyte-plus/pixel-image-1.0/text-to-image', T2I, 30_000n, 'computed'],
    ['pixelbyte-plus/pixel-image-1.0/image-to-image', I2I, 30_000n, 'computed'],
    ['pixelbyte-plus/pixel-image-1.0-pro/image-to-image', I2I, 45_000n, 'computed'],
    ['bytedance-plus/seedream-v5-lite/text-to-image', T2I, 35_000n, 'computed'],
    ['bytedance-plus/seedream-v5-lite/image-to-image', I2I, 35_000n, 'computed'],
    ['bytedance-plus/seedream-v4.5/text-to-image', T2I, 40_000n, 'computed'],
  ];

function expectOk(result: QuoteResult): QuoteSuccess {
  if (!result.ok) throw new Error(`expected a quote, got ${result.error.code}: ${result.error.message}`);
  return result;
}

function expectError(result: QuoteResult, code: string, path?: string) {
  if (result.ok) throw new Error(`expected ${code}, got a quote of ${result.costMicroCents}`);
  expect(result.error.code).toBe(code);
  if (path !== undefined) {
    expect(
      result.error.issues?.map((issue) => issue.path),
      result.error.message,
    ).toContain(path);
    expect(result.error.message).toContain(path);
  }
  return result.error;
}

const WAN_PLUS = 'alibaba-plus/wan-2.6-flash/image-to-video';

describe('quote: default cost of every model', () => {
  it('covers all 38 documented slugs', () => {
    expect(MODEL_SLUGS).toHaveLength(38);
    expect(DEFAULT_COSTS.map(([model]) => model)).toEqual([...MODEL_SLUGS]);
  });

  it.each(DEFAULT_COSTS)('%s defaults to %s micro-cents (%s)', (model, input, cost, _source) => {
    const result = expectOk(quote({ model, input }));
    expect(result.model).toBe(model);
    expect(result.costMicroCents).toBe(cost);
    expect(result.listCostMicroCents).toBe(cost);
    expect(result.exactCostMicroCents).toBe(cost.toString());
    expect(result.priceVersion).toBe(DEFAULT_PRICE_VERSION);
    expect(result.markupBps).toBe(0);
    expect(result.normalizedInput).toMatchObject(input);
    expect(result.breakdown.at(-1)).toEqual({
      kind: 'markup',
      component: 'markup',
      label: 'markup 0 bps',
      bps: 0,
      factor: '1',
    });
  });
});

describe('quote: Wan 2.6 Flash (alibaba-plus), the seed model', () => {
  const base = { prompt: 'a fox', image_url: IMG };

  it.each([
    [{ resolution: '720p', duration: 5 }, 2_500_000n],
    [{ resolution: '1080p', duration: 5 }, 3_750_000n],
    [{ resolution: '1080p', duration: 15 }, 11_250_000n],
    [{ resolution: '720p', duration: '2' }, 1_000_000n],
    [{ duration: '15' }, 7_500_000n],
  ])('%j costs %s', (params, cost) => {
    expect(expectOk(quote({ model: WAN_PLUS, input: { ...base, ...params } })).costMicroCents).toBe(cost);
  });

  it('returns the full breakdown, normalised input and version', () => {
    const result = expectOk(
      quote({ model: WAN_PLUS, input: { ...base, duration: '5', resolution: '1080p' }, markupBps: 250 }),
    );
    expect(result).toEqual({
      ok: true,
      model: WAN_PLUS,
      costMicroCents: 3_843_750n,
      listCostMicroCents: 3_750_000n,
      exactCostMicroCents: '3843750',
      priceVersion: DEFAULT_PRICE_VERSION,
      effectiveFrom: '2026-01-01T00:00:00.000Z',
      markupBps: 250,
      normalizedInput: { ...base, duration: 5, resolution: '1080p' },
      breakdown: [
        {
          kind: 'base',
          component: 'base',
          label: 'Wan 2.6 Flash image-to-video (alibaba-plus)',
          unit: 'second',
          factor: '500000',
        },
        { kind: 'param', component: 'duration', label: 'duration 5', value: 5, factor: '5' },
        { kind: 'param', component: 'resolution', label: 'resolution 1080p', value: '1080p', factor: '1.5' },
        { kind: 'markup', component: 'markup', label: 'markup 250 bps', bps: 250, factor: '1.025' },
      ],
    });
  });

  it('fills defaults into normalizedInput so the upstream sees what was priced', () => {
    const result = expectOk(quote({ model: WAN_PLUS, input: base }));
    expect(result.normalizedInput).toEqual({ ...base, duration: 5, resolution: '720p' });
  });

  it.each([
    ['duration', '1'],
    ['duration', '16'],
    ['duration', '5.5'],
    ['duration', 5.5],
    ['duration', 0],
    ['duration', -5],
    ['duration', ''],
    ['duration', ' 5'],
    ['duration', true],
    ['duration', null],
    ['resolution', '4k'],
    ['resolution', '1080P'],
    ['resolution', 1080],
  ])('rejects %s = %j with INVALID_INPUT', (name, value) => {
    expectError(quote({ model: WAN_PLUS, input: { ...base, [name]: value } }), 'INVALID_INPUT', name);
  });

  it('rejects params the seed model does not document', () => {
    for (const name of ['seed', 'aspect_ratio', 'has_sound', 'num_images', 'fps']) {
      const error = expectError(
        quote({ model: WAN_PLUS, input: { ...base, [name]: 1 } }),
        'INVALID_INPUT',
        name,
      );
      expect(error.message).toContain('is not a parameter of this model');
    }
  });

  it('requires prompt and image_url, and image_url must be an http(s) URL', () => {
    expectError(quote({ model: WAN_PLUS, input: { image_url: IMG } }), 'INVALID_INPUT', 'prompt');
    expectError(quote({ model: WAN_PLUS, input: { prompt: 'x' } }), 'INVALID_INPUT', 'image_url');
    expectError(
      quote({ model: WAN_PLUS, input: { ...base, image_url: 'ftp://x/y.png' } }),
      'INVALID_INPUT',
      'image_url',
    );
    expectError(quote({ model: WAN_PLUS, input: { ...base, prompt: '' } }), 'INVALID_INPUT', 'prompt');
    expectError(
      quote({ model: WAN_PLUS, input: { ...base, prompt: 'x'.repeat(5001) } }),
      'INVALID_INPUT',
      'prompt',
    );
    expectOk(quote({ model: WAN_PLUS, input: { ...base, prompt: 'x'.repeat(5000) } }));
  });

  it('names an unknown key and reports every problem at once', () => {
    const error = expectError(
      quote({ model: WAN_PLUS, input: { ...base, durationn: 5, resolution: '4k' } }),
      'INVALID_INPUT',
    );
    expect(error.issues).toEqual([
      { path: 'resolution', message: 'must be one of "720p", "1080p"' },
      { path: 'durationn', message: 'is not a parameter of this model' },
    ]);
    expect(error.message).toContain('durationn');
  });

  it.each([null, 'duration=5', [1, 2], 42])('rejects a non-object input %j', (input) => {
    expectError(quote({ model: WAN_PLUS, input }), 'INVALID_INPUT');
  });
});

describe('quote: other documented prices', () => {
  it('prices the alibaba/ route with sound at 1080p 10 s at 975,000 (the slug decides the price)', () => {
    const result = expectOk(
      quote({
        model: 'alibaba/wan-2.6-flash/image-to-video',
        input: { ...I2V, has_sound: 'true', resolution: '1080p', duration: '10' },
      }),
    );
    expect(result.costMicroCents).toBe(975_000n);
    expect(result.normalizedInput).toMatchObject({ has_sound: true, resolution: '1080p', duration: 10 });
    expect(result.breakdown.map((line) => line.factor)).toEqual(['50000', '10', '1.5', '1.3', '1']);
  });

  it('rejects a duration outside the allowed set of the alibaba/ route', () => {
    const error = expectError(
      quote({ model: 'alibaba/wan-2.6-flash/image-to-video', input: { ...I2V, duration: 7 } }),
      'INVALID_INPUT',
      'duration',
    );
    expect(error.message).toContain('must be one of 5, 10, 15');
  });

  it('prices Sora 2 Pro 1080p 4 s at 2,004,000 (factor 1.67 exactly)', () => {
    const result = expectOk(
      quote({
        model: 'openai/sora-2-pro/text-to-video',
        input: { ...T2V, resolution: '1080p', duration: 4 },
      }),
    );
    expect(result.costMicroCents).toBe(2_004_000n);
    expect(result.breakdown.map((line) => line.factor)).toEqual(['300000', '4', '1.67', '1']);
  });

  it.each([
    [
      'google/veo-3.1-fast/text-to-video',
      { ...T2V, resolution: '4k', has_sound: false, duration: 6 },
      1_800_000n,
    ],
    [
      'google/veo-3.1-fast/text-to-video',
      { ...T2V, resolution: '4k', has_sound: 'true', duration: '8' },
      3_600_000n,
    ],
    ['google/veo-3.1-ecl/image-to-video', { ...I2V, has_sound: true, duration: 8 }, 2_400_000n],
    ['kling/kling-2.6-pro/text-to-video', { ...T2V, has_sound: true, duration: 10 }, 1_400_000n],
    [
      'bytedance/seedance-2.0/image-to-video',
      { ...I2V, resolution: '1440p', fps: '60', duration: 15 },
      9_000_000n,
    ],
    [
      'bytedance/seedance-2.0-fast/text-to-video',
      { ...T2V, resolution: '1440p', fps: 30, duration: 4 },
      1_320_000n,
    ],
    ['google/nano-banana', { ...T2I, resolution: '4k' }, 80_000n],
    ['google/nano-banana-pro/edit-image', { ...EDIT, resolution: '4k' }, 241_200n],
    ['google/nano-banana-pro-extra/edit-image', { ...EDIT, resolution: '2k' }, 134_000n],
    ['google/nano-banana-pro-extra/edit-image', { ...EDIT, resolution: '4k' }, 241_200n],
    ['pixelbyte-plus/pixel-image-1.0/text-to-image', { ...T2I, num_images: '4' }, 120_000n],
    ['pixelbyte-plus/pixel-image-1.0-pro/image-to-image', { ...I2I, num_images: 3 }, 135_000n],
    ['google/veo-3.1-fast/start-end-frame-to-video', { ...SEF, duration: 8 }, 800_000n],
    ['alibaba-plus/wan-2.6/video-extend', { ...EXT, duration: 15, prompt: 'more' }, 2_250_000n],
  ])('%s with %j costs %s', (model, input, cost) => {
    expect(expectOk(quote({ model, input })).costMicroCents).toBe(cost);
  });

  it.each([
    ['pixelbyte-plus/pixel-image-1.0/text-to-image', { ...T2I, num_images: 5 }, 'num_images'],
    ['pixelbyte-plus/pixel-image-1.0/text-to-image', { ...T2I, num_images: 0 }, 'num_images'],
    ['bytedance/seedance-2.0/image-to-video', { ...I2V, fps: 25 }, 'fps'],
    ['google/veo-3.1-fast/start-end-frame-to-video', { image_urls: [IMG] }, 'image_urls'],
    ['google/veo-3.1-fast/start-end-frame-to-video', { image_urls: [IMG, 'not a url'] }, 'image_urls.1'],
    ['google/veo-3.1-fast/start-end-frame-to-video', { ...SEF, has_sound: true }, 'has_sound'],
    ['bytedance-plus/seedream-v4.5/text-to-image', { ...T2I, num_images: 2 }, 'num_images'],
    ['openai/sora-2/text-to-video', { ...T2V, aspect_ratio: 'wide' }, 'aspect_ratio'],
    ['openai/sora-2/text-to-video', { ...T2V, seed: '1.5' }, 'seed'],
    ['google/veo-3.1-fast/text-to-video', { ...T2V, has_sound: 'yes' }, 'has_sound'],
    ['google/veo-3.1-fast/text-to-video', { ...T2V, has_sound: 1 }, 'has_sound'],
  ])('%s rejects %j', (model, input, path) => {
    expectError(quote({ model, input }), 'INVALID_INPUT', path);
  });

  it('accepts unpriced common params without changing the price', () => {
    const result = expectOk(
      quote({
        model: 'openai/sora-2/text-to-video',
        input: { ...T2V, aspect_ratio: '16:9', seed: '42', negative_prompt: 'blur' },
      }),
    );
    expect(result.costMicroCents).toBe(400_000n);
    expect(result.normalizedInput).toEqual({
      ...T2V,
      aspect_ratio: '16:9',
      seed: 42,
      negative_prompt: 'blur',
      duration: 4,
    });
  });
});

describe('quote: markup', () => {
  it('adds 2.5% (250 bps) to 2,500,000 → 2,562,500', () => {
    const result = expectOk(quote({ model: WAN_PLUS, input: I2V, markupBps: 250 }));
    expect(result.listCostMicroCents).toBe(2_500_000n);
    expect(result.costMicroCents).toBe(2_562_500n);
  });

  it('rounds a fractional marked-up price up, once, at the end', () => {
    // 40,000 × 1.0001 = 40,004 exactly; 35,000 × 1.0001 = 35,003.5 → 35,004.
    const exact = expectOk(
      quote({ model: 'google/nano-banana-dev/text-to-image', input: T2I, markupBps: 1 }),
    );
    expect(exact.costMicroCents).toBe(40_004n);
    const fraction = expectOk(
      quote({ model: 'bytedance-plus/seedream-v5-lite/text-to-image', input: T2I, markupBps: 1 }),
    );
    expect(fraction.exactCostMicroCents).toBe('35003.5');
    expect(fraction.costMicroCents).toBe(35_004n);
    expect(fraction.listCostMicroCents).toBe(35_000n);
  });

  it('accepts bigint markup', () => {
    expect(expectOk(quote({ model: WAN_PLUS, input: I2V, markupBps: 250n })).costMicroCents).toBe(2_562_500n);
  });

  it.each([-1, 2.5, Number.NaN, -1n])('rejects markupBps %s', (markupBps) => {
    expectError(quote({ model: WAN_PLUS, input: I2V, markupBps }), 'INVALID_INPUT', 'markupBps');
  });
});

describe('quote: hostile keys and values', () => {
  it('never takes a factor from Object.prototype and rejects __proto__ as a key', () => {
    const catalogue = createCatalogue([
      {
        model: 'acme/x/text-to-image',
        name: 'x',
        category: 'image',
        unit: 'request',
        baseCostMicroCents: 10n,
        priceVersion: 'v',
        effectiveFrom: '2026-01-01T00:00:00Z',
        params: { style: { type: 'enum', values: ['a', 'constructor'], factors: { a: '2' }, default: 'a' } },
      },
    ]);
    const result = expectOk(
      quote({ model: 'acme/x/text-to-image', input: { style: 'constructor' }, catalogue }),
    );
    expect(result.costMicroCents).toBe(10n);
    expectError(
      quote({ model: 'acme/x/text-to-image', input: JSON.parse('{"__proto__": {"style": "a"}}'), catalogue }),
      'INVALID_INPUT',
      '__proto__',
    );
  });
});

describe('quote: unknown and unpriced', () => {
  it.each(['nope/model', '', 'ALIBABA-PLUS/wan-2.6-flash/image-to-video', 'google/nano-banana/'])(
    'refuses unknown model %j',
    (model) => {
      const error = expectError(quote({ model, input: {} }), 'UNKNOWN_MODEL');
      expect(error.message).toContain(JSON.stringify(model));
    },
  );

  it('refuses a value the rule allows but does not price (never free)', () => {
    const error = expectError(
      quote({ model: 'google/nano-banana/edit-image', input: { ...EDIT, resolution: '4k' } }),
      'UNPRICED_VALUE',
      'resolution',
    );
    expect(error.message).toContain('4k');
  });

  it('uses a custom catalogue when given one', () => {
    const rule: PriceRuleInput = {
      model: 'acme/flat/text-to-image',
      name: 'Acme flat',
      category: 'image',
      unit: 'request',
      baseCostMicroCents: '12345',
      priceVersion: 'acme-1',
      effectiveFrom: '2026-06-01T00:00:00Z',
      params: {
        prompt: { type: 'string', required: true },
        quality: {
          type: 'enum',
          values: ['draft', 'hd', 'ultra'],
          factors: { hd: '1.5', ultra: null },
          default: 'draft',
        },
        hdr: { type: 'boolean', factors: { true: '1.1' }, default: false },
      },
    };
    const catalogue = createCatalogue([rule]);
    const draft = expectOk(quote({ model: rule.model, input: { prompt: 'p' }, catalogue }));
    expect(draft.costMicroCents).toBe(12_345n);
    expect(draft.priceVersion).toBe('acme-1');
    // 12,345 × 1.5 × 1.1 = 20,369.25 → 20,370
    const hd = expectOk(
      quote({ model: rule.model, input: { prompt: 'p', quality: 'hd', hdr: 'true' }, catalogue }),
    );
    expect(hd.exactCostMicroCents).toBe('20369.25');
    expect(hd.costMicroCents).toBe(20_370n);
    expectError(
      quote({ model: rule.model, input: { prompt: 'p', quality: 'ultra' }, catalogue }),
      'UNPRICED_VALUE',
    );
    expectError(
      quote({ model: rule.model, input: { prompt: 'p', quality: 'max' }, catalogue }),
      'INVALID_INPUT',
    );
    expectError(quote({ model: WAN_PLUS, input: I2V, catalogue }), 'UNKNOWN_MODEL');
  });
});
