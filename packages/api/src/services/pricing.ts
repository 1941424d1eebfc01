import { listModels, quote } from '@tollgate/pricing';
import { DomainError } from '../errors.ts';
import { loadCatalogue } from './admin/prices.ts';
import type { PricedTenantCtx, TenantCtx } from './context.ts';
import { toWireAmount } from './wire.ts';

type QuoteFailure = Extract<ReturnType<typeof quote>, { ok: false }>['error'];

/** Pricing refusals: unknown model or unpriced value is never free — it is a 400 with a stable reason. */
export function quoteError(e: QuoteFailure): DomainError {
  const details = e.issues === undefined ? undefined : { issues: e.issues };
  return new DomainError({
    code: 'BAD_REQUEST',
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

export async function quoteForTenant({
  ctx,
  input,
}: {
  ctx: PricedTenantCtx;
  input: { model: string; input: Record<string, unknown> };
}) {
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

export type ModelView = {
  model: string;
  name: string;
  category: string;
  unit: string;
  baseCostMicroCents: number;
  /** The tenant's price for the model's defaults (markup included). */
  defaultCostMicroCents: number;
  priceVersion: string;
  effectiveFrom: string;
  inputJsonSchema: Record<string, unknown>;
};

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
  }));
  return { items, nextCursor: null };
}
