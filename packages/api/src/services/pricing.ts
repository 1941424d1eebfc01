import { listModels, quote } from '@tollgate/pricing';
import { z } from 'zod';
import { DomainError } from '../errors.ts';
import { loadCatalogue } from './catalogue.ts';
import type { PricedTenantCtx, TenantCtx } from './context.ts';
import { toWireAmount } from './wire.ts';

type QuoteFailure = Extract<ReturnType<typeof quote>, { ok: false }>['error'];

/** Pricing refusals: unknown model or unpriced value is never free — it is a 400 with a stable reason. */
export function quoteError(e: QuoteFailure): DomainError {
  const details = e.issues === undefined ? undefined : { issues: e.issues };
  return new DomainError({
    reason: e.code,
    message: e.message,
    ...(details === undefined ? {} : { details }),
  });
}

/** Converts every bigint in a pricing breakdown to a safe JSON number (exact or an error). */
function wireBigints(value: unknown): unknown {
  if (typeof value === 'bigint') return toWireAmount(value);
  if (Array.isArray(value)) return value.map(wireBigints);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wireBigints(v)]));
  }
  return value;
}

/** `pricing.quote` / `POST /v1/quote`: the schema is the shape (the type is derived from it). */
export const quoteViewSchema = z.object({
  model: z.string(),
  costMicroCents: z.number().int(),
  listCostMicroCents: z.number().int(),
  /** The pricing rule's arithmetic step by step (base, factors, markup); the entries depend on the model's unit. */
  breakdown: z.unknown().meta({
    description:
      "The pricing rule's arithmetic step by step (base, factors, markup); entries depend on the model's unit",
  }),
  priceVersion: z.string(),
});
export type QuoteView = z.output<typeof quoteViewSchema>;

export async function quoteForTenant({
  ctx,
  input,
}: {
  ctx: PricedTenantCtx;
  input: { model: string; input: Record<string, unknown> };
}): Promise<QuoteView> {
  const catalogue = await loadCatalogue(ctx.deps.db, ctx.pricing);
  const q = quote({ model: input.model, input: input.input, markupBps: ctx.tenant.markupBps, catalogue });
  if (!q.ok) throw quoteError(q.error);
  return {
    model: q.model,
    costMicroCents: toWireAmount(q.costMicroCents),
    listCostMicroCents: toWireAmount(q.listCostMicroCents),
    breakdown: wireBigints(q.breakdown),
    priceVersion: q.priceVersion,
  };
}

/** One model of `models.list` / `GET /v1/models`: the schema is the shape (the type is derived from it). */
export const modelViewSchema = z.object({
  model: z.string(),
  name: z.string(),
  category: z.string(),
  unit: z.string(),
  baseCostMicroCents: z.number().int(),
  /** The tenant's price for the model's defaults (markup included). */
  defaultCostMicroCents: z.number().int(),
  priceVersion: z.string(),
  effectiveFrom: z.string(),
  /** JSON Schema of the model's `input`. */
  inputJsonSchema: z.record(z.string(), z.unknown()),
  /** How each priced param changes the price (`quantity`: × the value; `factors`: value → multiplier). */
  priceFactors: z.record(
    z.string(),
    z.object({
      quantity: z.literal(true).optional(),
      factors: z.record(z.string(), z.string().nullable()).optional(),
    }),
  ),
});

export type ModelView = z.output<typeof modelViewSchema>;

/** The whole catalogue in one page (it is bounded): `nextCursor` is always null, for the list shape. */
export async function listModelsForTenant({
  ctx,
}: {
  ctx: TenantCtx;
}): Promise<{ items: ModelView[]; nextCursor: null }> {
  const catalogue = await loadCatalogue(ctx.deps.db);
  const items = listModels(catalogue, { markupBps: ctx.tenant.markupBps }).map((m) => ({
    model: m.model,
    name: m.name,
    category: m.category,
    unit: m.unit,
    baseCostMicroCents: toWireAmount(m.baseCostMicroCents),
    defaultCostMicroCents: toWireAmount(m.defaultCostMicroCents),
    priceVersion: m.priceVersion,
    effectiveFrom: m.effectiveFrom,
    inputJsonSchema: m.inputJsonSchema,
    priceFactors: m.priceFactors,
  }));
  return { items, nextCursor: null };
}
