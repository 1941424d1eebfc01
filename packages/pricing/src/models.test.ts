import { describe, expect, it } from 'vitest';
import { createCatalogue } from './catalogue';
import { defaultCatalogue, MODEL_SLUGS } from './default-catalogue';
import { listModels, modelInputJsonSchema } from './models';

describe('listModels', () => {
  it('lists every model with its price facts and default cost', () => {
    const models = listModels();
    expect(models.map((m) => m.model)).toEqual([...MODEL_SLUGS]);
    expect(models[0]).toEqual({
      model: 'alibaba-plus/wan-2.6-flash/image-to-video',
      name: 'Wan 2.6 Flash image-to-video (alibaba-plus)',
      category: 'video',
      unit: 'second',
      baseCostMicroCents: 500_000n,
      priceVersion: 'pixelbyte-docs-2026-01',
      effectiveFrom: '2026-01-01T00:00:00.000Z',
      defaultCostMicroCents: 2_500_000n,
      inputJsonSchema: modelInputJsonSchema('alibaba-plus/wan-2.6-flash/image-to-video'),
      // duration multiplies the per-second price; resolution by its factor; prompt etc. are free.
      priceFactors: {
        duration: { quantity: true },
        resolution: { factors: { '720p': '1', '1080p': '1.5' } },
      },
    });
    const byModel = new Map(models.map((m) => [m.model, m]));
    expect(byModel.get('google/veo-3.1-fast/text-to-video')?.defaultCostMicroCents).toBe(2_400_000n);
    expect(byModel.get('pixelbyte-plus/pixel-image-1.0/text-to-image')).toMatchObject({
      category: 'image',
      unit: 'image',
      defaultCostMicroCents: 30_000n,
    });
    expect(byModel.get('google/nano-banana')).toMatchObject({ category: 'image', unit: 'request' });
  });

  it('applies the markup to the default cost (rounded up)', () => {
    const byModel = new Map(listModels(defaultCatalogue, { markupBps: 250 }).map((m) => [m.model, m]));
    expect(byModel.get('alibaba-plus/wan-2.6-flash/image-to-video')?.defaultCostMicroCents).toBe(2_562_500n);
    // 35,000 × 1.025 = 35,875; 30,000 × 1.0001 = 30,003
    expect(byModel.get('bytedance-plus/seedream-v5-lite/text-to-image')?.defaultCostMicroCents).toBe(35_875n);
    const oneBps = new Map(listModels(defaultCatalogue, { markupBps: 1 }).map((m) => [m.model, m]));
    expect(oneBps.get('bytedance-plus/seedream-v5-lite/text-to-image')?.defaultCostMicroCents).toBe(35_004n);
  });

  it('rejects a bad markup', () => {
    expect(() => listModels(defaultCatalogue, { markupBps: -1 })).toThrow(RangeError);
    expect(() => listModels(defaultCatalogue, { markupBps: 0.5 })).toThrow(RangeError);
  });

  it('lists a custom catalogue', () => {
    const catalogue = createCatalogue([
      {
        model: 'acme/flat/text-to-image',
        name: 'Acme flat',
        category: 'image',
        unit: 'request',
        baseCostMicroCents: 7n,
        priceVersion: 'acme-1',
        effectiveFrom: '2026-06-01T00:00:00Z',
        params: { prompt: { type: 'string', required: true } },
      },
    ]);
    expect(listModels(catalogue).map((m) => [m.model, m.defaultCostMicroCents])).toEqual([
      ['acme/flat/text-to-image', 7n],
    ]);
  });
});

describe('modelInputJsonSchema', () => {
  it('describes the seed model exactly', () => {
    expect(modelInputJsonSchema('alibaba-plus/wan-2.6-flash/image-to-video')).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        prompt: { type: 'string', minLength: 1, maxLength: 5000, description: 'What to generate.' },
        image_url: {
          type: 'string',
          format: 'uri',
          maxLength: 4096,
          description: 'Input image (http(s) URL, e.g. from /v1/uploads/presign).',
        },
        negative_prompt: { type: 'string', maxLength: 5000, description: 'What to avoid.' },
        duration: {
          type: 'integer',
          minimum: 2,
          maximum: 15,
          default: 5,
          description: 'Length of the video in seconds; the price is per second.',
        },
        resolution: {
          type: 'string',
          enum: ['720p', '1080p'],
          default: '720p',
          description: 'Output resolution; multiplies the price.',
        },
      },
      required: ['prompt', 'image_url'],
      additionalProperties: false,
    });
  });

  it('lists allowed sets, booleans and url arrays', () => {
    const schema = modelInputJsonSchema('alibaba/wan-2.6-flash/image-to-video') as {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(schema.properties.duration).toMatchObject({ type: 'integer', enum: [5, 10, 15], default: 5 });
    expect(schema.properties.has_sound).toMatchObject({ type: 'boolean', default: false });
    const sef = modelInputJsonSchema('google/veo-3.1-fast/start-end-frame-to-video') as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };
    expect(sef.properties.image_urls).toMatchObject({
      type: 'array',
      minItems: 2,
      maxItems: 2,
      items: { type: 'string', format: 'uri' },
    });
    expect(sef.required).toEqual(['image_urls']);
  });

  it('has one for every model and none for an unknown model', () => {
    for (const model of MODEL_SLUGS) {
      expect(modelInputJsonSchema(model), model).toMatchObject({
        type: 'object',
        additionalProperties: false,
      });
    }
    expect(modelInputJsonSchema('nope/model')).toBeUndefined();
  });
});
