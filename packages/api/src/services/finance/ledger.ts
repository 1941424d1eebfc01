import { bookTenantId, type Mode, publicTenantId } from '@tollgate/db';
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
  input: {
    from: Date;
    to: Date;
    tenantId?: string | undefined;
    cursor?: string | undefined;
    limit: number;
    /** The book: live money (default) or test mode's. */
    mode?: Mode | undefined;
  };
}) {
  checkPeriodOrder(input.from, input.to);
  const mode = input.mode ?? 'live';
  const page = await listLedger(ctx.deps.reportsDb, {
    from: input.from,
    to: input.to,
    limit: input.limit,
    mode,
    ...(input.tenantId === undefined ? {} : { tenantId: bookTenantId(input.tenantId, mode) }),
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  return {
    items: page.items.map((e) => ({
      lineId: e.lineId.toString(),
      transactionId: e.transactionId,
      kind: e.kind,
      account: e.account,
      tenantId: e.tenantId === null ? null : publicTenantId(e.tenantId),
      jobId: e.jobId,
      holdId: e.holdId,
      amountMicroCents: toWireAmount(e.amountMicroCents),
      balanceAfterMicroCents:
        e.balanceAfterMicroCents === null ? null : toWireAmount(e.balanceAfterMicroCents),
      reference: e.reference,
      reason: e.reason,
      actor: e.actor,
      createdAt: e.createdAt.toISOString(),
      livemode: mode === 'live',
    })),
    nextCursor: page.nextCursor,
  };
}
