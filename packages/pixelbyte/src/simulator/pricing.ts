/**
 * How the simulator prices jobs: with `@tollgate/pricing` at list price (no markup), exactly like the
 * gateway quotes them, so a test sees the upstream cost the gateway expects. Pixelbyte's own rounding is
 * undocumented; this assumes the catalogue is right, and a test of mismatch handling injects another price.
 */
import { defaultCatalogue, modelInputJsonSchema, quote } from '@tollgate/pricing';
import type { SimError } from './engine.ts';

/** The simulator has one version per model. */
export const SIM_MODEL_VERSION = 'v1';

export interface PricedJob {
  ok: true;
  costMicroCents: bigint;
  baseCostMicroCents: bigint;
  /** Additive lines (base, then what each factor adds) that sum exactly to `costMicroCents`. */
  breakdown: Array<{ component: string; costMicroCents: bigint }>;
  category: 'video' | 'image';
  /** How many outputs a completed job has (num_images for image models, else 1). */
  outputCount: number;
}

export function priceJob(model: string, input: unknown): PricedJob | { ok: false; error: SimError } {
  const q = quote({ model, input: input ?? {} });
  if (!q.ok) {
    switch (q.error.code) {
      case 'UNKNOWN_MODEL':
        return { ok: false, error: { status: 404, code: 'MODEL_NOT_FOUND', message: q.error.message } };
      case 'INVALID_INPUT':
      // A value the catalogue allows but cannot price: the simulator cannot charge it, so it refuses.
      case 'UNPRICED_VALUE':
        return { ok: false, error: { status: 400, code: 'INVALID_INPUT', message: q.error.message } };
      default: {
        const never: never = q.error.code;
        return never;
      }
    }
  }
  const rule = defaultCatalogue.get(model);
  if (rule === undefined) {
    return { ok: false, error: { status: 404, code: 'MODEL_NOT_FOUND', message: `Unknown model ${model}` } };
  }
  const breakdown: PricedJob['breakdown'] = [];
  let running = { num: 1n, den: 1n };
  let previous = 0n;
  for (const line of q.breakdown) {
    if (line.kind === 'markup') continue;
    running = multiply(running, parseDecimal(line.factor));
    const cumulative = ceilDiv(running.num, running.den);
    breakdown.push({ component: line.component, costMicroCents: cumulative - previous });
    previous = cumulative;
  }
  const numImages = q.normalizedInput.num_images;
  return {
    ok: true,
    costMicroCents: q.listCostMicroCents,
    baseCostMicroCents: rule.baseCostMicroCents,
    breakdown,
    category: rule.category,
    outputCount: typeof numImages === 'number' ? numImages : 1,
  };
}

/** `GET /v1/models/{id}` for a catalogue model, or undefined. */
export function describeModel(modelId: string, concurrentJobsCap: number) {
  const rule = defaultCatalogue.get(modelId);
  if (rule === undefined) return undefined;
  const factors: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(rule.params)) {
    if (spec.type === 'integer' && spec.quantity === true) factors[name] = 'quantity';
    else if ('factors' in spec && spec.factors !== undefined) factors[name] = spec.factors;
  }
  return {
    id: rule.model,
    name: rule.name,
    category: rule.category,
    currentVersion: SIM_MODEL_VERSION,
    versions: [
      {
        versionId: SIM_MODEL_VERSION,
        status: 'active',
        inputSchema: modelInputJsonSchema(rule.model) ?? null,
        pricing: {
          unit: rule.unit,
          baseCostMicroCents: rule.baseCostMicroCents,
          factors,
          priceVersion: rule.priceVersion,
        },
        rateLimits: { concurrentJobs: concurrentJobsCap },
      },
    ],
  };
}

function parseDecimal(text: string): { num: bigint; den: bigint } {
  const [whole = '0', fraction = ''] = text.split('.');
  return { num: BigInt(whole + fraction), den: 10n ** BigInt(fraction.length) };
}

function multiply(a: { num: bigint; den: bigint }, b: { num: bigint; den: bigint }) {
  return { num: a.num * b.num, den: a.den * b.den };
}

function ceilDiv(num: bigint, den: bigint): bigint {
  return num % den === 0n ? num / den : num / den + 1n;
}
