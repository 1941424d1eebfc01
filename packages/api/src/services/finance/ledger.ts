import { listLedger } from '@tollgate/db/ledger';
import type { PrincipalCtx } from '../context.ts';
import { checkPeriodOrder } from '../period.ts';
import { toWireAmount } from '../wire.ts';

/** `finance.ledger`: every ledger line (platform accounts included) in [from, to), newest first. */
export async function ledgerReport({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { from: Date; to: Date; tenantId?: string | undefined; cursor?: string | undefined; limit: number };
}) {
  checkPeriodOrder(input.from, input.to);
  const page = await listLedger(ctx.deps.reportsDb, {
    from: input.from,
    to: input.to,
    limit: input.limit,
    ...(input.tenantId === undefined ? {} : { tenantId: input.tenantId }),
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  return {
    items: page.items.map((e) => ({
      lineId: e.lineId.toString(),
      transactionId: e.transactionId,
      kind: e.kind,
      account: e.account,
      tenantId: e.tenantId,
      jobId: e.jobId,
      holdId: e.holdId,
      amountMicroCents: toWireAmount(e.amountMicroCents),
      balanceAfterMicroCents:
        e.balanceAfterMicroCents === null ? null : toWireAmount(e.balanceAfterMicroCents),
      reference: e.reference,
      reason: e.reason,
      actor: e.actor,
      createdAt: e.createdAt.toISOString(),
    })),
    nextCursor: page.nextCursor,
  };
}
