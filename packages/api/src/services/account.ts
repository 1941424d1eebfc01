import { ledgerAccount, ledgerKind, modeOfTenant, publicTenantId, tenantStatus } from '@tollgate/db';
import type { TenantLimits } from '@tollgate/db/ledger';
import { getAccount, listLedger, resetSandboxBalance } from '@tollgate/db/ledger';
import { z } from 'zod';
import { DomainError } from '../errors.ts';
import type { TenantCtx } from './context.ts';
import { checkPeriodOrder } from './period.ts';
import { toWireAmount } from './wire.ts';

export const limitsViewSchema = z.object({
  maxConcurrentJobs: z.number().int().nullable(),
  dailySpendLimitMicroCents: z.number().int().nullable(),
  requestsPerMinute: z.number().int().nullable(),
});
export type LimitsView = z.output<typeof limitsViewSchema>;

/** `account.get` / `GET /v1/account`: the schema is the shape (the type is derived from it). */
export const accountViewSchema = z.object({
  /** The tenant's own id (in test mode too). */
  tenantId: z.string(),
  /** false in test mode: these are the sandbox's balances (test money, docs/test-mode.md). */
  livemode: z.boolean(),
  name: z.string(),
  status: z.enum(tenantStatus.enumValues),
  availableMicroCents: z.number().int(),
  heldMicroCents: z.number().int(),
  limits: limitsViewSchema,
  activeJobs: z.number().int(),
  spentTodayMicroCents: z.number().int(),
  /** Below this, a `balance.low` webhook is sent (once per crossing); null = none. Set by admins. */
  lowBalanceThresholdMicroCents: z.number().int().nullable(),
});
export type AccountView = z.output<typeof accountViewSchema>;

/** One line of `account.ledger` / `GET /v1/account/ledger`. */
export const statementLineSchema = z.object({
  transactionId: z.string(),
  kind: z.enum(ledgerKind.enumValues),
  jobId: z.string().nullable(),
  account: z.enum(ledgerAccount.enumValues),
  amountMicroCents: z.number().int(),
  balanceAfterMicroCents: z.number().int().nullable(),
  reference: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  /** false for a line of the test book (test mode). */
  livemode: z.boolean(),
});
export type StatementLine = z.output<typeof statementLineSchema>;

export function toLimitsView(l: TenantLimits): LimitsView {
  return {
    maxConcurrentJobs: l.maxConcurrentJobs,
    dailySpendLimitMicroCents:
      l.dailySpendLimitMicroCents === null ? null : toWireAmount(l.dailySpendLimitMicroCents),
    requestsPerMinute: l.requestsPerMinute,
  };
}

export async function getAccountForTenant({ ctx }: { ctx: TenantCtx }): Promise<AccountView> {
  const a = await getAccount(ctx.deps.db, ctx.tenant.id);
  if (!a) throw new DomainError({ reason: 'TENANT_NOT_FOUND' });
  return {
    tenantId: publicTenantId(a.tenantId),
    livemode: modeOfTenant(a.tenantId) === 'live',
    name: a.name,
    status: a.status,
    availableMicroCents: toWireAmount(a.availableMicroCents),
    heldMicroCents: toWireAmount(a.heldMicroCents),
    limits: toLimitsView(a.limits),
    activeJobs: a.activeJobs,
    spentTodayMicroCents: toWireAmount(a.spentTodayMicroCents),
    lowBalanceThresholdMicroCents:
      a.lowBalanceThresholdMicroCents === null ? null : toWireAmount(a.lowBalanceThresholdMicroCents),
  };
}

export async function getStatementForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: { from?: Date | undefined; to?: Date | undefined; cursor?: string | undefined; limit: number };
}): Promise<{ items: StatementLine[]; nextCursor: string | null }> {
  // Either end may be left open; when both are given, they are checked as finance.ledger's.
  if (input.from !== undefined && input.to !== undefined) checkPeriodOrder(input.from, input.to);
  const livemode = modeOfTenant(ctx.tenant.id) === 'live';
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
      livemode,
    })),
    nextCursor: page.nextCursor ?? null,
  };
}

/**
 * `account.resetTestBalance()`: the sandbox's available test money back to $100.00. Test mode only: a
 * live credential is refused (FORBIDDEN `TEST_MODE_ONLY`), so this can never move live money.
 */
export async function resetTestBalanceForTenant({ ctx }: { ctx: TenantCtx }) {
  if (modeOfTenant(ctx.tenant.id) !== 'test') {
    throw new DomainError({ reason: 'TEST_MODE_ONLY' });
  }
  const r = await resetSandboxBalance(ctx.deps.db, { tenantId: ctx.tenant.id, actor: ctx.principal.sub });
  ctx.deps.metrics.recordMoneyMovement({ op: 'resetSandboxBalance', result: r, tenantId: ctx.tenant.id });
  if (!r.ok) throw new DomainError({ reason: 'TENANT_NOT_FOUND' });
  return getAccountForTenant({ ctx });
}
