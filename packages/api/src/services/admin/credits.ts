import { adjust, topUp } from '@tollgate/db/ledger';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { toWireAmount } from '../wire.ts';

/** Credits a tenant (idempotent by key: a replay returns the original result; other arguments → CONFLICT). */
export async function topUpAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; amountMicroCents: bigint; idempotencyKey: string; reference: string };
}) {
  const r = await topUp(ctx.deps.db, {
    tenantId: input.tenantId,
    amountMicroCents: input.amountMicroCents,
    idempotencyKey: input.idempotencyKey,
    reference: input.reference,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
  });
  if (!r.ok) {
    switch (r.reason) {
      case 'IDEMPOTENCY_CONFLICT':
        throw new DomainError({
          code: 'CONFLICT',
          reason: 'IDEMPOTENCY_CONFLICT',
          message: 'this idempotencyKey was already used for a different top-up',
        });
      case 'TENANT_NOT_FOUND':
        throw new DomainError({
          code: 'NOT_FOUND',
          reason: 'TENANT_NOT_FOUND',
          message: `tenant ${input.tenantId} not found`,
        });
      case 'INVALID_AMOUNT':
      case 'AMOUNT_OUT_OF_RANGE':
        throw new DomainError({
          code: 'BAD_REQUEST',
          reason: 'AMOUNT_OUT_OF_RANGE',
          message: 'amount is out of range',
        });
      default: {
        const never: never = r.reason;
        throw new Error(`unhandled topUp refusal ${String(never)}`);
      }
    }
  }
  return {
    transactionId: r.transactionId,
    replayed: r.replayed,
    availableMicroCents: toWireAmount(r.availableMicroCents),
  };
}

/**
 * Corrects a balance up or down (signed amount; idempotent by key like topUp). Never below zero:
 * a debit larger than the available balance is refused with PRECONDITION_FAILED and nothing is
 * written (the ledger's conditional UPDATE decides, not a read here).
 */
export async function adjustAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; amountMicroCents: bigint; idempotencyKey: string; reason: string };
}) {
  const r = await adjust(ctx.deps.db, {
    tenantId: input.tenantId,
    amountMicroCents: input.amountMicroCents,
    idempotencyKey: input.idempotencyKey,
    reason: input.reason,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
  });
  if (!r.ok) {
    switch (r.reason) {
      case 'INSUFFICIENT_BALANCE':
        throw new DomainError({
          code: 'PRECONDITION_FAILED',
          reason: 'ADJUSTMENT_BELOW_ZERO',
          message: `the adjustment would take the available balance below zero (available ${r.availableMicroCents}, debit ${r.requiredMicroCents} micro-cents); nothing was written`,
          details: {
            availableMicroCents: toWireAmount(r.availableMicroCents),
            requiredMicroCents: toWireAmount(r.requiredMicroCents),
          },
        });
      case 'IDEMPOTENCY_CONFLICT':
        throw new DomainError({
          code: 'CONFLICT',
          reason: 'IDEMPOTENCY_CONFLICT',
          message: 'this idempotencyKey was already used for a different credit operation',
        });
      case 'TENANT_NOT_FOUND':
        throw new DomainError({
          code: 'NOT_FOUND',
          reason: 'TENANT_NOT_FOUND',
          message: `tenant ${input.tenantId} not found`,
        });
      case 'INVALID_AMOUNT':
      case 'AMOUNT_OUT_OF_RANGE':
        throw new DomainError({
          code: 'BAD_REQUEST',
          reason: 'AMOUNT_OUT_OF_RANGE',
          message: 'amount must be a non-zero integer within range',
        });
      default: {
        const never: never = r;
        throw new Error(`unhandled adjust refusal ${JSON.stringify(never)}`);
      }
    }
  }
  return {
    transactionId: r.transactionId,
    replayed: r.replayed,
    availableMicroCents: toWireAmount(r.availableMicroCents),
  };
}
