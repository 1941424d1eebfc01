import type { TenantLimits } from '@tollgate/db/ledger';
import { getAccount, listLedger } from '@tollgate/db/ledger';
import { DomainError } from '../errors.ts';
import type { TenantCtx } from './context.ts';
import { checkPeriodOrder } from './period.ts';
import { toWireAmount } from './wire.ts';

export type LimitsView = {
  maxConcurrentJobs: number | null;
  dailySpendLimitMicroCents: number | null;
  requestsPerMinute: number | null;
};

export function toLimitsView(l: TenantLimits): LimitsView {
  return {
    maxConcurrentJobs: l.maxConcurrentJobs,
    dailySpendLimitMicroCents:
      l.dailySpendLimitMicroCents === null ? null : toWireAmount(l.dailySpendLimitMicroCents),
    requestsPerMinute: l.requestsPerMinute,
  };
}

export async function getAccountForTenant({ ctx }: { ctx: TenantCtx }) {
  const a = await getAccount(ctx.deps.db, ctx.tenant.id);
  if (!a)
    throw new DomainError({ code: 'NOT_FOUND', reason: 'TENANT_NOT_FOUND', message: 'tenant not found' });
  return {
    tenantId: a.tenantId,
    name: a.name,
    status: a.status,
    availableMicroCents: toWireAmount(a.availableMicroCents),
    heldMicroCents: toWireAmount(a.heldMicroCents),
    limits: toLimitsView(a.limits),
    activeJobs: a.activeJobs,
    spentTodayMicroCents: toWireAmount(a.spentTodayMicroCents),
  };
}

export async function getStatementForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: { from?: Date | undefined; to?: Date | undefined; cursor?: string | undefined; limit: number };
}) {
  // Either end may be left open; when both are given, they are checked as finance.ledger's.
  if (input.from !== undefined && input.to !== undefined) checkPeriodOrder(input.from, input.to);
  const page = await listLedger(ctx.deps.db, {
    tenantId: ctx.tenant.id,
    limit: input.limit,
    ...(input.from === undefined ? {} : { from: input.from }),
    ...(input.to === undefined ? {} : { to: input.to }),
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  return {
    items: page.items.map((e) => ({
      transactionId: e.transactionId,
      kind: e.kind,
      jobId: e.jobId ?? null,
      account: e.account,
      amountMicroCents: toWireAmount(e.amountMicroCents),
      balanceAfterMicroCents:
        e.balanceAfterMicroCents === null ? null : toWireAmount(e.balanceAfterMicroCents),
      reference: e.reference ?? null,
      reason: e.reason ?? null,
      createdAt: e.createdAt.toISOString(),
    })),
    nextCursor: page.nextCursor ?? null,
  };
}
