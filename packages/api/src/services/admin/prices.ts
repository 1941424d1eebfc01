import { randomBytes } from 'node:crypto';
import { auditLog, type PriceOverride, priceOverrides } from '@tollgate/db';
import {
  MAX_MARKUP_BPS,
  maxQuoteMicroCents,
  type PriceRule,
  PriceRuleError,
  parsePriceRule,
  priceRuleToJson,
} from '@tollgate/pricing';
import { and, desc, eq, sql } from 'drizzle-orm';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { canonicalJson } from '../wire.ts';
import { cursorTime, decodeCursor, pageOf } from './cursor.ts';

export type PriceOverrideView = {
  id: string;
  model: string;
  priceVersion: string;
  effectiveFrom: string;
  /** True when effective_from ≤ now and no later effective override of the model replaced it. */
  inForce: boolean;
  rule: unknown;
  createdBy: string;
  createdAt: string;
};

function toView(o: PriceOverride, inForce: boolean): PriceOverrideView {
  return {
    id: o.id,
    model: o.model,
    priceVersion: o.priceVersion,
    effectiveFrom: o.effectiveFrom.toISOString(),
    inForce,
    rule: o.rule,
    createdBy: o.createdBy,
    createdAt: o.createdAt.toISOString(),
  };
}

/**
 * The stored overrides (newest effective_from first), optionally for one model, and which ones are
 * in force; cursor-paginated like every list.
 */
export async function listPriceOverrides({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { model?: string | undefined; cursor?: string | undefined; limit: number };
}): Promise<{ items: PriceOverrideView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select({
      o: priceOverrides,
      ts: cursorTime(priceOverrides.effectiveFrom),
      inForce: sql<boolean>`${priceOverrides.effectiveFrom} <= now() AND NOT EXISTS (
        SELECT 1 FROM price_overrides later
         WHERE later.model = ${priceOverrides.model} AND later.effective_from <= now()
           AND (later.effective_from, later.created_at, later.id) > (${priceOverrides.effectiveFrom}, ${priceOverrides.createdAt}, ${priceOverrides.id}))`,
    })
    .from(priceOverrides)
    .where(
      and(
        input.model === undefined ? undefined : eq(priceOverrides.model, input.model),
        cursor
          ? sql`(${priceOverrides.effectiveFrom}, ${priceOverrides.id}) < (${cursor.ts}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(priceOverrides.effectiveFrom), desc(priceOverrides.id))
    .limit(input.limit + 1);
  const { page, nextCursor } = pageOf(rows, input.limit, (r) => ({ ts: r.ts, id: r.o.id }));
  return { items: page.map((r) => toView(r.o, r.inForce)), nextCursor };
}

function invalidRule(message: string, issues?: readonly { path: string; message: string }[]): DomainError {
  return new DomainError({
    reason: 'INVALID_PRICE_RULE',
    message,
    ...(issues === undefined ? {} : { details: { issues: [...issues] } }),
  });
}

/**
 * Amounts cross the API as JSON numbers, exact only up to 2^53 − 1 (toWireAmount refuses more): a
 * rule whose dearest quote (largest factors and quantity, at the largest markup a tenant can have)
 * goes past that would make models.list, quotes and submits fail for every tenant once in force.
 */
function refuseUnsafeQuotes(rule: PriceRule): void {
  const dearest = maxQuoteMicroCents(rule);
  if (dearest === undefined || dearest <= BigInt(Number.MAX_SAFE_INTEGER)) return;
  const message = `the dearest quote of this rule (base × largest factors × largest quantity, at the largest markup of ${MAX_MARKUP_BPS} bps) is ${dearest} micro-cents, past the safe-integer limit of ${Number.MAX_SAFE_INTEGER}: lower the base cost, the factors or the largest quantity`;
  throw invalidRule(`Invalid price rule for ${rule.model}: ${message}`, [
    { path: 'baseCostMicroCents', message },
  ]);
}

/**
 * Stores a price override for `rule.model` taking effect at `effectiveFrom` (the rule's own
 * `effectiveFrom` is replaced by it, so the two can never disagree). The key is (model,
 * priceVersion): a new version inserts a row; re-upserting a version that is not effective yet
 * replaces it; changing a version that is already in effect is refused (jobs were charged at it —
 * publish a new priceVersion instead). The same rule and instant again is a no-op replay.
 * One audit row per change, in the same transaction.
 */
export async function upsertPriceOverride({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { rule: Record<string, unknown>; effectiveFrom: Date };
}): Promise<PriceOverrideView & { replayed: boolean }> {
  let rule: PriceRule;
  try {
    rule = parsePriceRule({ ...input.rule, effectiveFrom: input.effectiveFrom.toISOString() });
  } catch (err) {
    if (err instanceof PriceRuleError) throw invalidRule(err.message, err.issues);
    throw err;
  }
  refuseUnsafeQuotes(rule);
  const json = priceRuleToJson(rule);
  return ctx.deps.db.transaction(async (tx) => {
    // Serialise upserts of one model so two admins cannot both insert "the" new version.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`price:${rule.model}`}, 0))`);
    const [existing] = await tx
      .select({ o: priceOverrides, effective: sql<boolean>`${priceOverrides.effectiveFrom} <= now()` })
      .from(priceOverrides)
      .where(and(eq(priceOverrides.model, rule.model), eq(priceOverrides.priceVersion, rule.priceVersion)));
    if (existing) {
      const same =
        existing.o.effectiveFrom.getTime() === input.effectiveFrom.getTime() &&
        canonicalJson(existing.o.rule) === canonicalJson(json);
      if (same) return { ...toView(existing.o, existing.effective), replayed: true };
      if (existing.effective) {
        throw new DomainError({
          reason: 'PRICE_VERSION_IN_EFFECT',
          message: `price version ${rule.priceVersion} of ${rule.model} is already in effect and cannot change; upsert a new priceVersion`,
        });
      }
    }
    const id = `prc_${randomBytes(15).toString('base64url')}`;
    const values = {
      id,
      model: rule.model,
      rule: json,
      priceVersion: rule.priceVersion,
      effectiveFrom: input.effectiveFrom,
      createdBy: ctx.principal.sub,
    };
    const [saved] = existing
      ? await tx
          .update(priceOverrides)
          .set({ ...values, createdAt: sql`now()` })
          .where(eq(priceOverrides.id, existing.o.id))
          .returning()
      : await tx.insert(priceOverrides).values(values).returning();
    if (!saved) throw new Error('bug: price override write returned nothing');
    await tx.insert(auditLog).values({
      actor: ctx.principal.sub,
      action: 'price.upsert',
      targetType: 'model',
      targetId: rule.model,
      before: existing
        ? {
            id: existing.o.id,
            priceVersion: existing.o.priceVersion,
            effectiveFrom: existing.o.effectiveFrom.toISOString(),
            rule: existing.o.rule,
          }
        : null,
      after: {
        id,
        priceVersion: rule.priceVersion,
        effectiveFrom: input.effectiveFrom.toISOString(),
        rule: json,
      },
      requestId: ctx.requestId,
    });
    const [state] = (await tx.execute(
      sql`SELECT ${input.effectiveFrom.toISOString()}::timestamptz <= now() AS effective`,
    )) as unknown as { effective: boolean }[];
    return { ...toView(saved, state?.effective ?? false), replayed: false };
  });
}
