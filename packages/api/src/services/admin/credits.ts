import { randomUUID } from 'node:crypto';
import { type AdjustResult, adjust, ensureSandbox, topUp } from '@tollgate/db/ledger';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { MAX_WIRE_MICRO_CENTS, sha256Hex, toWireAmount } from '../wire.ts';
import { tenantNotFound } from './tenants.ts';

type CreditRefusal = Extract<AdjustResult, { ok: false }>;

/**
 * The one mapping of a ledger credit refusal (top-up or adjustment) to what the admin sees: the same
 * refusal gives the same code, reason and message whichever procedure hit it (one key namespace,
 * one set of rules). Nothing was written in any of these cases.
 */
function creditRefusalError(r: CreditRefusal, tenantId: string): DomainError {
  switch (r.reason) {
    case 'INSUFFICIENT_BALANCE':
      return new DomainError({
        reason: 'ADJUSTMENT_BELOW_ZERO',
        message: `the adjustment would take the available balance below zero (available ${r.availableMicroCents}, debit ${r.requiredMicroCents} micro-cents); nothing was written`,
        details: {
          availableMicroCents: toWireAmount(r.availableMicroCents),
          requiredMicroCents: toWireAmount(r.requiredMicroCents),
        },
      });
    case 'IDEMPOTENCY_CONFLICT':
      return new DomainError({
        reason: 'IDEMPOTENCY_CONFLICT',
        message:
          'this idempotencyKey was already used for a different credit operation (top-ups and adjustments share one key namespace); nothing was written',
      });
    case 'REFERENCE_CONFLICT':
      return new DomainError({
        reason: 'REFERENCE_CONFLICT',
        message: `this tenant already has a top-up with this reference for ${r.amountMicroCents} micro-cents (${r.transactionId}); a reference names one top-up, so another amount is refused. Nothing was written`,
        details: {
          transactionId: r.transactionId,
          amountMicroCents: toWireAmount(r.amountMicroCents),
        },
      });
    case 'TENANT_NOT_FOUND':
      return tenantNotFound(tenantId);
    case 'INVALID_AMOUNT':
      return new DomainError({
        reason: 'AMOUNT_OUT_OF_RANGE',
        message:
          'amount must be an integer within range, positive for a top-up and non-zero for an adjustment; nothing was written',
      });
    case 'AMOUNT_OUT_OF_RANGE':
      return new DomainError({
        reason: 'AMOUNT_OUT_OF_RANGE',
        message: `the tenant's money (available + held) would exceed ${MAX_WIRE_MICRO_CENTS} micro-cents, the largest amount the API carries exactly (about $9 billion); nothing was written`,
      });
    default: {
      const never: never = r;
      throw new Error(`unhandled credit refusal ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The idempotency key of a top-up sent without one: derived from what was asked (tenant, amount,
 * reference), so the same top-up sent twice (a retry after a timeout, a double click, a re-run
 * script) is applied once and the second answer says `replayed: true`. The format is the one the CLI
 * derived before the gateway did (`cli-topup-…`), so a top-up sent by an older CLI and retried by a
 * newer one (or the other way round) is still one credit. (The ledger also treats the reference as
 * the top-up's identity, whatever the key: same amount → replay, another amount → REFERENCE_CONFLICT.)
 */
export function derivedTopUpKey(tenantId: string, amountMicroCents: bigint, reference: string): string {
  return `cli-topup-${sha256Hex(`topup\n${tenantId}\n${amountMicroCents}\n${reference}`).slice(0, 32)}`;
}

/**
 * The idempotency key of an adjustment sent without one: a fresh key, so two identical adjustments
 * (same tenant, amount and reason) are two adjustments, never a silent replay (a reason is a
 * free-text explanation, not an identity: "goodwill" twice is two credits). The answer carries the
 * key: a caller that may retry passes a key of its own (or the one answered) to be applied once.
 */
export function freshAdjustKey(): string {
  return `adjust-${randomUUID()}`;
}

/** The wire answer of a credit, or the refusal thrown as a DomainError. */
function creditOutcome(r: AdjustResult, tenantId: string) {
  if (!r.ok) throw creditRefusalError(r, tenantId);
  return {
    transactionId: r.transactionId,
    replayed: r.replayed,
    availableMicroCents: toWireAmount(r.availableMicroCents),
    /** The key the credit was recorded under (the caller's, the derived one, or a replayed top-up's). */
    idempotencyKey: r.idempotencyKey,
  };
}

/**
 * Credits a tenant (idempotent by key: a replay returns the original result; other arguments →
 * CONFLICT; and by reference, see derivedTopUpKey). No key → `derivedTopUpKey`.
 */
export async function topUpAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    tenantId: string;
    amountMicroCents: bigint;
    idempotencyKey?: string | undefined;
    reference: string;
    /** `test`: free test credit into the tenant's sandbox book (docs/test-mode.md); default live. */
    mode?: 'live' | 'test' | undefined;
  };
}) {
  const book = input.mode === 'test' ? await sandboxOf(ctx, input.tenantId) : input.tenantId;
  const idempotencyKey =
    input.idempotencyKey ?? derivedTopUpKey(book, input.amountMicroCents, input.reference);
  const r = await topUp(ctx.deps.db, {
    tenantId: book,
    amountMicroCents: input.amountMicroCents,
    idempotencyKey,
    reference: input.reference,
    // Every balance is answered on the wire: refuse a credit that would take one past what it carries.
    ceilingMicroCents: MAX_WIRE_MICRO_CENTS,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
  });
  ctx.deps.metrics.recordMoneyMovement({
    op: 'topUp',
    result: r,
    tenantId: book,
    amountMicroCents: input.amountMicroCents,
  });
  return { ...creditOutcome(r, input.tenantId), livemode: book === input.tenantId };
}

/** The sandbox book of a tenant (opened on first use); NOT_FOUND for an unknown tenant. */
async function sandboxOf(ctx: PrincipalCtx, tenantId: string): Promise<string> {
  const opened = await ensureSandbox(ctx.deps.db, { liveTenantId: tenantId, actor: ctx.principal.sub });
  ctx.deps.metrics.recordMoneyMovement({ op: 'ensureSandbox', result: opened });
  if (!opened.ok) throw tenantNotFound(tenantId);
  return opened.tenantId;
}

/**
 * Corrects a balance up or down (signed amount; idempotent by key like topUp; without a key every
 * call is a new adjustment, see freshAdjustKey). Never below zero:
 * a debit larger than the available balance is refused with PRECONDITION_FAILED and nothing is
 * written (the ledger's conditional UPDATE decides, not a read here).
 */
export async function adjustAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; amountMicroCents: bigint; idempotencyKey?: string | undefined; reason: string };
}) {
  const idempotencyKey = input.idempotencyKey ?? freshAdjustKey();
  const r = await adjust(ctx.deps.db, {
    tenantId: input.tenantId,
    amountMicroCents: input.amountMicroCents,
    idempotencyKey,
    reason: input.reason,
    ceilingMicroCents: MAX_WIRE_MICRO_CENTS,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
  });
  ctx.deps.metrics.recordMoneyMovement({
    op: 'adjust',
    result: r,
    tenantId: input.tenantId,
    amountMicroCents: input.amountMicroCents,
  });
  return creditOutcome(r, input.tenantId);
}
