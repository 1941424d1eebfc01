// The Pixelbyte price list (shared/docs/pixelbyte-api.md, "Model catalogue") as data: 38 models.
// The helpers below only assemble plain rule objects; createCatalogue validates them exactly like
// an admin override. Param choices beyond the priced ones are explained in the package README.
import { type Catalogue, createCatalogue } from './catalogue';
import type { ParamSpec, PriceRuleInput } from './rule';

/** Identifies this price list in every quote made from it. */
export const DEFAULT_PRICE_VERSION = 'pixelbyte-docs-2026-01';
/** When the built-in price list was recorded (informational for base rules). */
export const DEFAULT_EFFECTIVE_FROM = '2026-01-01T00:00:00.000Z';

type Params = Record<string, ParamSpec>;
type Kind =
  | 'text-to-video'
  | 'image-to-video'
  | 'reference-to-video'
  | 'start-end-frame-to-video'
  | 'video-extend'
  | 'text-to-image'
  | 'image-to-image'
  | 'edit-image'
  | 'text-or-edit-image';

const PROMPT_MAX_LENGTH = 5000;
const URL_MAX_LENGTH = 4096;

const prompt = (required: boolean): ParamSpec => ({
  type: 'string',
  required,
  minLength: 1,
  maxLength: PROMPT_MAX_LENGTH,
  description: 'What to generate.',
});
const negativePrompt: ParamSpec = {
  type: 'string',
  maxLength: PROMPT_MAX_LENGTH,
  description: 'What to avoid.',
};
const imageUrl: ParamSpec = {
  type: 'string',
  format: 'url',
  required: true,
  maxLength: URL_MAX_LENGTH,
  description: 'Input image (http(s) URL, e.g. from /v1/uploads/presign).',
};
const imageUrls = (
  minItems: number,
  maxItems: number,
  required: boolean,
  description: string,
): ParamSpec => ({
  type: 'string-array',
  format: 'url',
  required,
  minItems,
  maxItems,
  maxLength: URL_MAX_LENGTH,
  description,
});
const videoUrl: ParamSpec = {
  type: 'string',
  format: 'url',
  required: true,
  maxLength: URL_MAX_LENGTH,
  description: 'Video to extend (http(s) URL).',
};
const aspectRatio: ParamSpec = {
  type: 'string',
  pattern: '^[1-9][0-9]?:[1-9][0-9]?$',
  description: 'Aspect ratio such as "16:9"; not priced.',
};
const seed: ParamSpec = { type: 'integer', description: 'Random seed; not priced.' };

/** Inputs every model of a kind takes (not priced). */
function kindParams(kind: Kind): Params {
  const common: Params = { negative_prompt: negativePrompt, aspect_ratio: aspectRatio, seed };
  switch (kind) {
    case 'text-to-video':
    case 'text-to-image':
      return { prompt: prompt(true), ...common };
    case 'image-to-video':
    case 'image-to-image':
      return { prompt: prompt(true), image_url: imageUrl, ...common };
    case 'reference-to-video':
      return { prompt: prompt(true), image_urls: imageUrls(1, 10, true, 'Reference images.'), ...common };
    case 'start-end-frame-to-video':
      return {
        prompt: prompt(false),
        image_urls: imageUrls(2, 2, true, 'First and last frame, in order.'),
        ...common,
      };
    case 'video-extend':
      return { prompt: prompt(false), video_url: videoUrl, ...common };
    case 'edit-image':
      return { prompt: prompt(true), image_urls: imageUrls(1, 10, true, 'Images to edit.'), ...common };
    case 'text-or-edit-image':
      return {
        prompt: prompt(true),
        image_urls: imageUrls(1, 10, false, 'Optional images to edit.'),
        ...common,
      };
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

const durationSet = (values: number[], defaultSeconds: number): ParamSpec => ({
  type: 'integer',
  quantity: true,
  values,
  default: defaultSeconds,
  description: 'Length of the video in seconds; the price is per second.',
});
const durationRange = (min: number, max: number, defaultSeconds: number): ParamSpec => ({
  type: 'integer',
  quantity: true,
  min,
  max,
  default: defaultSeconds,
  description: 'Length of the video in seconds; the price is per second.',
});
const resolution = (factors: Record<string, string | null>, defaultValue: string): ParamSpec => ({
  type: 'enum',
  values: Object.keys(factors),
  factors,
  default: defaultValue,
  description: 'Output resolution; multiplies the price.',
});
const hasSound = (trueFactor: string, defaultValue: boolean): ParamSpec => ({
  type: 'boolean',
  factors: { true: trueFactor, false: '1' },
  default: defaultValue,
  description: 'Generate audio; multiplies the price.',
});
const fps: ParamSpec = {
  type: 'integer',
  values: [24, 30, 60],
  factors: { '24': '1', '30': '1.1', '60': '1.25' },
  default: 24,
  description: 'Frames per second; multiplies the price.',
};
const numImages: ParamSpec = {
  type: 'integer',
  quantity: true,
  min: 1,
  max: 4,
  default: 1,
  description: 'Number of images; the price is per image.',
};

function rule(
  model: string,
  name: string,
  unit: 'second' | 'image' | 'request',
  baseCostMicroCents: bigint,
  kind: Kind,
  priced: Params,
): PriceRuleInput {
  return {
    model,
    name,
    category: kind.endsWith('video') || kind === 'video-extend' ? 'video' : 'image',
    unit,
    baseCostMicroCents,
    priceVersion: DEFAULT_PRICE_VERSION,
    effectiveFrom: DEFAULT_EFFECTIVE_FROM,
    params: { ...kindParams(kind), ...priced },
  };
}

const VEO_RESOLUTION = resolution({ '720p': '1', '1080p': '1', '4k': '1.5' }, '720p');
const SORA_PRO_RESOLUTION = resolution({ '720p': '1', '1080p': '1.67' }, '720p');
const NANO_BANANA_PRO_RESOLUTION = resolution({ '1k': '1', '2k': '1', '4k': '1.8' }, '1k');

/** The built-in rules, in the order of pixelbyte-api.md. */
export const DEFAULT_PRICE_RULES: readonly PriceRuleInput[] = [
  // The seed model is documented precisely: exactly these five inputs.
  {
    model: 'alibaba-plus/wan-2.6-flash/image-to-video',
    name: 'Wan 2.6 Flash image-to-video (alibaba-plus)',
    category: 'video',
    unit: 'second',
    baseCostMicroCents: 500_000n,
    priceVersion: DEFAULT_PRICE_VERSION,
    effectiveFrom: DEFAULT_EFFECTIVE_FROM,
    params: {
      prompt: prompt(true),
      image_url: imageUrl,
      negative_prompt: negativePrompt,
      duration: durationRange(2, 15, 5),
      resolution: resolution({ '720p': '1', '1080p': '1.5' }, '720p'),
    },
  },
  rule(
    'alibaba/wan-2.6-flash/image-to-video',
    'Wan 2.6 Flash image-to-video (alibaba)',
    'second',
    50_000n,
    'image-to-video',
    {
      duration: durationSet([5, 10, 15], 5),
      resolution: resolution({ '720p': '1', '1080p': '1.5' }, '720p'),
      has_sound: hasSound('1.3', false),
    },
  ),
  rule('alibaba-plus/wan-2.6/video-extend', 'Wan 2.6 video extend', 'second', 150_000n, 'video-extend', {
    duration: durationSet([5, 10, 15], 5),
  }),
  rule(
    'alibaba-plus/wan-2.7/reference-to-video',
    'Wan 2.7 reference-to-video',
    'second',
    150_000n,
    'reference-to-video',
    {
      duration: durationRange(2, 10, 5),
      resolution: resolution({ '720p': '1', '1080p': '1.5' }, '1080p'),
    },
  ),
  rule(
    'google/veo-3.1-fast/text-to-video',
    'Veo 3.1 Fast text-to-video',
    'second',
    200_000n,
    'text-to-video',
    {
      duration: durationSet([4, 6, 8], 8),
      resolution: VEO_RESOLUTION,
      has_sound: hasSound('1.5', true),
    },
  ),
  rule(
    'google/veo-3.1-fast/image-to-video',
    'Veo 3.1 Fast image-to-video',
    'second',
    200_000n,
    'image-to-video',
    {
      duration: durationSet([4, 6, 8], 8),
      resolution: VEO_RESOLUTION,
      has_sound: hasSound('1.5', true),
    },
  ),
  rule(
    'google/veo-3.1-fast/reference-to-video',
    'Veo 3.1 Fast reference-to-video',
    'second',
    200_000n,
    'reference-to-video',
    {
      duration: durationSet([4, 6, 8], 8),
      resolution: VEO_RESOLUTION,
      has_sound: hasSound('1.5', true),
    },
  ),
  // Def is "–" in the docs; same table and defaults as the Fast variants (2,400,000).
  rule(
    'google/veo-3.1/reference-to-video',
    'Veo 3.1 reference-to-video',
    'second',
    200_000n,
    'reference-to-video',
    {
      duration: durationSet([4, 6, 8], 8),
      resolution: VEO_RESOLUTION,
      has_sound: hasSound('1.5', true),
    },
  ),
  rule(
    'google/veo-3.1-fast/start-end-frame-to-video',
    'Veo 3.1 Fast start/end-frame-to-video',
    'second',
    100_000n,
    'start-end-frame-to-video',
    { duration: durationSet([4, 6, 8], 4) },
  ),
  rule(
    'google/veo-3.1-ecl/image-to-video',
    'Veo 3.1 ECL image-to-video',
    'second',
    200_000n,
    'image-to-video',
    {
      duration: durationSet([4, 6, 8], 4),
      has_sound: hasSound('1.5', false),
    },
  ),
  rule(
    'google/veo-3.1-ecl/start-end-frame-to-video',
    'Veo 3.1 ECL start/end-frame-to-video',
    'second',
    200_000n,
    'start-end-frame-to-video',
    { duration: durationSet([4, 6, 8], 4), has_sound: hasSound('1.5', false) },
  ),
  rule('openai/sora-2/text-to-video', 'Sora 2 text-to-video', 'second', 100_000n, 'text-to-video', {
    duration: durationSet([4, 8, 12], 4),
  }),
  rule('openai/sora-2-pro/text-to-video', 'Sora 2 Pro text-to-video', 'second', 300_000n, 'text-to-video', {
    duration: durationSet([4, 8, 12], 4),
    resolution: SORA_PRO_RESOLUTION,
  }),
  rule(
    'openai/sora-2-pro/image-to-video',
    'Sora 2 Pro image-to-video',
    'second',
    300_000n,
    'image-to-video',
    {
      duration: durationSet([4, 8, 12], 4),
      resolution: SORA_PRO_RESOLUTION,
    },
  ),
  rule('runway/gen-4.5/text-to-video', 'Runway Gen-4.5 text-to-video', 'second', 120_000n, 'text-to-video', {
    duration: durationRange(2, 10, 5),
  }),
  rule('runway/gen-4/image-to-video', 'Runway Gen-4 image-to-video', 'second', 100_000n, 'image-to-video', {
    duration: durationSet([5, 10], 5),
  }),
  rule(
    'runway/gen-4-turbo/image-to-video',
    'Runway Gen-4 Turbo image-to-video',
    'second',
    50_000n,
    'image-to-video',
    {
      duration: durationSet([5, 10], 5),
    },
  ),
  rule(
    'kling-plus/kling-2.1-master/text-to-video',
    'Kling 2.1 Master text-to-video',
    'second',
    40_000n,
    'text-to-video',
    { duration: durationSet([5, 10], 5) },
  ),
  rule(
    'kling-plus/kling-2.5-turbo-pro/text-to-video',
    'Kling 2.5 Turbo Pro text-to-video',
    'second',
    50_000n,
    'text-to-video',
    { duration: durationSet([5, 10], 5) },
  ),
  rule(
    'kling-plus/kling-2.1-pro/image-to-video',
    'Kling 2.1 Pro image-to-video',
    'second',
    50_000n,
    'image-to-video',
    {
      duration: durationSet([5, 10], 5),
    },
  ),
  rule(
    'kling-plus/kling-o1-standard/reference-to-video',
    'Kling O1 Standard reference-to-video',
    'second',
    50_000n,
    'reference-to-video',
    { duration: durationRange(3, 10, 5) },
  ),
  rule(
    'kling-plus/kling-o1-standard/start-end-frame-to-video',
    'Kling O1 Standard start/end-frame-to-video',
    'second',
    50_000n,
    'start-end-frame-to-video',
    { duration: durationRange(3, 10, 5) },
  ),
  rule(
    'kling/kling-3.0-standard/text-to-video',
    'Kling 3.0 Standard text-to-video',
    'second',
    84_000n,
    'text-to-video',
    {
      duration: durationSet([5, 10, 15], 5),
      has_sound: hasSound('1.5', false),
    },
  ),
  rule(
    'kling/kling-2.6-pro/text-to-video',
    'Kling 2.6 Pro text-to-video',
    'second',
    70_000n,
    'text-to-video',
    {
      duration: durationSet([5, 10], 5),
      has_sound: hasSound('2', false),
    },
  ),
  rule(
    'bytedance/seedance-2.0/image-to-video',
    'Seedance 2.0 image-to-video',
    'second',
    240_000n,
    'image-to-video',
    {
      duration: durationRange(4, 15, 5),
      resolution: resolution({ '720p': '1', '1440p': '2' }, '720p'),
      fps,
    },
  ),
  rule(
    'bytedance/seedance-2.0-fast/text-to-video',
    'Seedance 2.0 Fast text-to-video',
    'second',
    200_000n,
    'text-to-video',
    {
      duration: durationRange(4, 15, 5),
      resolution: resolution({ '720p': '1', '1440p': '1.5' }, '720p'),
      fps,
    },
  ),
  rule('google/nano-banana', 'Nano Banana', 'request', 40_000n, 'text-or-edit-image', {
    resolution: resolution({ '1k': '1', '2k': '1', '4k': '2' }, '1k'),
  }),
  // Factor table not published: 1k is the base price; 2k and 4k are accepted by the model family
  // but refused with UNPRICED_VALUE rather than guessed.
  rule('google/nano-banana/edit-image', 'Nano Banana edit image', 'request', 40_000n, 'edit-image', {
    resolution: resolution({ '1k': '1', '2k': null, '4k': null }, '1k'),
  }),
  rule(
    'google/nano-banana-pro/text-to-image',
    'Nano Banana Pro text-to-image',
    'request',
    134_000n,
    'text-to-image',
    {
      resolution: NANO_BANANA_PRO_RESOLUTION,
    },
  ),
  rule('google/nano-banana-pro/edit-image', 'Nano Banana Pro edit image', 'request', 134_000n, 'edit-image', {
    resolution: NANO_BANANA_PRO_RESOLUTION,
  }),
  // Only 4k is priced in the docs; 1k and 2k are listed without a factor, i.e. factor 1.
  rule(
    'google/nano-banana-pro-extra/edit-image',
    'Nano Banana Pro Extra edit image',
    'request',
    134_000n,
    'edit-image',
    {
      resolution: {
        type: 'enum',
        values: ['1k', '2k', '4k'],
        factors: { '4k': '1.8' },
        default: '1k',
        description: 'Output resolution; multiplies the price.',
      },
    },
  ),
  rule(
    'google/nano-banana-dev/text-to-image',
    'Nano Banana Dev text-to-image',
    'request',
    40_000n,
    'text-to-image',
    {},
  ),
  rule(
    'pixelbyte-plus/pixel-image-1.0/text-to-image',
    'Pixel Image 1.0 text-to-image',
    'image',
    30_000n,
    'text-to-image',
    { num_images: numImages },
  ),
  rule(
    'pixelbyte-plus/pixel-image-1.0/image-to-image',
    'Pixel Image 1.0 image-to-image',
    'image',
    30_000n,
    'image-to-image',
    { num_images: numImages },
  ),
  rule(
    'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
    'Pixel Image 1.0 Pro image-to-image',
    'image',
    45_000n,
    'image-to-image',
    { num_images: numImages },
  ),
  rule(
    'bytedance-plus/seedream-v5-lite/text-to-image',
    'Seedream v5 Lite text-to-image',
    'image',
    35_000n,
    'text-to-image',
    { num_images: numImages },
  ),
  rule(
    'bytedance-plus/seedream-v5-lite/image-to-image',
    'Seedream v5 Lite image-to-image',
    'image',
    35_000n,
    'image-to-image',
    { num_images: numImages },
  ),
  rule(
    'bytedance-plus/seedream-v4.5/text-to-image',
    'Seedream v4.5 text-to-image',
    'request',
    40_000n,
    'text-to-image',
    {},
  ),
];

/** The built-in catalogue: every Pixelbyte model documented in pixelbyte-api.md. */
export const defaultCatalogue: Catalogue = createCatalogue(DEFAULT_PRICE_RULES);

/** Every model slug in the built-in catalogue, in documentation order. */
export const MODEL_SLUGS = [
  'alibaba-plus/wan-2.6-flash/image-to-video',
  'alibaba/wan-2.6-flash/image-to-video',
  'alibaba-plus/wan-2.6/video-extend',
  'alibaba-plus/wan-2.7/reference-to-video',
  'google/veo-3.1-fast/text-to-video',
  'google/veo-3.1-fast/image-to-video',
  'google/veo-3.1-fast/reference-to-video',
  'google/veo-3.1/reference-to-video',
  'google/veo-3.1-fast/start-end-frame-to-video',
  'google/veo-3.1-ecl/image-to-video',
  'google/veo-3.1-ecl/start-end-frame-to-video',
  'openai/sora-2/text-to-video',
  'openai/sora-2-pro/text-to-video',
  'openai/sora-2-pro/image-to-video',
  'runway/gen-4.5/text-to-video',
  'runway/gen-4/image-to-video',
  'runway/gen-4-turbo/image-to-video',
  'kling-plus/kling-2.1-master/text-to-video',
  'kling-plus/kling-2.5-turbo-pro/text-to-video',
  'kling-plus/kling-2.1-pro/image-to-video',
  'kling-plus/kling-o1-standard/reference-to-video',
  'kling-plus/kling-o1-standard/start-end-frame-to-video',
  'kling/kling-3.0-standard/text-to-video',
  'kling/kling-2.6-pro/text-to-video',
  'bytedance/seedance-2.0/image-to-video',
  'bytedance/seedance-2.0-fast/text-to-video',
  'google/nano-banana',
  'google/nano-banana/edit-image',
  'google/nano-banana-pro/text-to-image',
  'google/nano-banana-pro/edit-image',
  'google/nano-banana-pro-extra/edit-image',
  'google/nano-banana-dev/text-to-image',
  'pixelbyte-plus/pixel-image-1.0/text-to-image',
  'pixelbyte-plus/pixel-image-1.0/image-to-image',
  'pixelbyte-plus/pixel-image-1.0-pro/image-to-image',
  'bytedance-plus/seedream-v5-lite/text-to-image',
  'bytedance-plus/seedream-v5-lite/image-to-image',
  'bytedance-plus/seedream-v4.5/text-to-image',
] as const;

/** A model slug of the built-in catalogue. */
export type ModelSlug = (typeof MODEL_SLUGS)[number];
