import { topUp } from '@tollgate/db/ledger';
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
