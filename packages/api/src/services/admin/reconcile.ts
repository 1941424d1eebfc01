import { reconcile } from '@tollgate/db/ledger';
import { sql } from 'drizzle-orm';
import type { PrincipalCtx } from '../context.ts';
import { upstreamRefundedTheOperator } from '../finance/upstream-cost.ts';
import { exactNumberOrNull, wireTotals } from '../wire.ts';

export type ReconcileDiscrepancyView = {
  kind: string;
  tenantId: string | null;
  jobId: string | null;
  holdId: string | null;
  transactionId: string | null;
  /** null when n/a, or past 2^53 − 1 (then only the `…Exact` string carries it). */
  expectedMicroCents: number | null;
  actualMicroCents: number | null;
  /** The same amounts as exact decimal strings (null when n/a): a broken balance may be any size. */
  expectedMicroCentsExact: string | null;
  actualMicroCentsExact: string | null;
  details: string;
};

const amountOrNull = (v: bigint | undefined | null) =>
  v === undefined || v === null ? null : exactNumberOrNull(v);
const exactOrNull = (v: bigint | undefined | null) => (v === undefined || v === null ? null : v.toString());

/**
 * The ledger's reconcile (balances = lines, holds resolved once, jobs settled, none overdue) plus
 * the gateway's money checks:
 * - REVENUE_MISMATCH (discrepancy): platform_revenue in the ledger ≠ Σ(captured − refunded) of holds;
 * - CHARGE_BELOW_UPSTREAM_COST (flag): a job charged less than Pixelbyte charged the operator;
 * - UPSTREAM_COST_UNKNOWN (flag): a charged, ended job whose upstream cost was never learned;
 * - `totals`: charged / refunded / upstream cost / margin over all time, so finance can compare.
 * `ok` is false only for discrepancies (flags are for review).
 */
export async function reconcileAsAdmin({ ctx }: { ctx: PrincipalCtx }) {
  const base = await reconcile(ctx.deps.db);
  const discrepancies: ReconcileDiscrepancyView[] = base.discrepancies.map((d) => ({
    kind: d.kind,
    tenantId: d.tenantId ?? null,
    jobId: d.jobId ?? null,
    holdId: d.holdId ?? null,
    transactionId: d.transactionId ?? null,
    expectedMicroCents: amountOrNull(d.expectedMicroCents),
    actualMicroCents: amountOrNull(d.actualMicroCents),
    expectedMicroCentsExact: exactOrNull(d.expectedMicroCents),
    actualMicroCentsExact: exactOrNull(d.actualMicroCents),
    details: d.details,
  }));
  const flags: { kind: string; tenantId: string; jobId: string; details: string }[] = [...base.flags];

  const extra = await ctx.deps.db.transaction(
    async (tx) => {
      const [revenue] = (await tx.execute(sql`
        SELECT
          (SELECT coalesce(sum(amount_micro_cents), 0)::bigint FROM ledger_lines WHERE account = 'platform_revenue') AS ledger,
          (SELECT coalesce(sum(captured_micro_cents - coalesce(refunded_micro_cents, 0)), 0)::bigint
             FROM holds WHERE status = 'captured') AS holds`)) as unknown as {
        ledger: bigint;
        holds: bigint;
      }[];
      const below = (await tx.execute(sql`
        SELECT id, tenant_id, (cost_micro_cents - refunded_micro_cents) AS net, upstream_cost_micro_cents AS upstream
          FROM jobs j
         WHERE upstream_cost_micro_cents IS NOT NULL
           AND NOT ${upstreamRefundedTheOperator('j')}
           AND cost_micro_cents - refunded_micro_cents < upstream_cost_micro_cents
         ORDER BY created_at DESC LIMIT 1000`)) as unknown as {
        id: string;
        tenant_id: string;
        net: bigint;
        upstream: bigint;
      }[];
      // Charged, ended, and Pixelbyte's charge never learned (the submit's answer was lost): the
      // margin counts the whole charge. (Not a job Pixelbyte refunded: it cost the operator nothing.)
      const costUnknown = (await tx.execute(sql`
        SELECT j.id, j.tenant_id, j.status, (j.cost_micro_cents - j.refunded_micro_cents) AS net
          FROM jobs j JOIN holds h ON h.id = j.hold_id
         WHERE h.status = 'captured'
           AND j.upstream_cost_micro_cents IS NULL
           AND j.status IN ('completed', 'failed', 'cancelled')
           AND NOT ${upstreamRefundedTheOperator('j')}
         ORDER BY j.created_at DESC LIMIT 1000`)) as unknown as {
        id: string;
        tenant_id: string;
        status: string;
        net: bigint;
      }[];
      const [totals] = (await tx.execute(sql`
        SELECT coalesce(sum(h.captured_micro_cents) FILTER (WHERE h.status = 'captured'), 0)::bigint AS charged,
               coalesce(sum(j.refunded_micro_cents), 0)::bigint AS refunded,
               coalesce(sum(j.upstream_cost_micro_cents) FILTER (WHERE NOT ${upstreamRefundedTheOperator('j')}), 0)::bigint AS upstream
          FROM jobs j JOIN holds h ON h.id = j.hold_id`)) as unknown as {
        charged: bigint;
        refunded: bigint;
        upstream: bigint;
      }[];
      return { revenue, below, costUnknown, totals };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  if (extra.revenue && BigInt(extra.revenue.ledger) !== BigInt(extra.revenue.holds)) {
    discrepancies.push({
      kind: 'REVENUE_MISMATCH',
      tenantId: null,
      jobId: null,
      holdId: null,
      transactionId: null,
      expectedMicroCents: amountOrNull(BigInt(extra.revenue.holds)),
      actualMicroCents: amountOrNull(BigInt(extra.revenue.ledger)),
      expectedMicroCentsExact: exactOrNull(BigInt(extra.revenue.holds)),
      actualMicroCentsExact: exactOrNull(BigInt(extra.revenue.ledger)),
      details: 'platform_revenue in the ledger differs from captured minus refunded holds',
    });
  }
  for (const j of extra.below) {
    flags.push({
      kind: 'CHARGE_BELOW_UPSTREAM_COST',
      tenantId: j.tenant_id,
      jobId: j.id,
      details: `charged ${j.net}, upstream charged ${j.upstream}`,
    });
  }
  for (const j of extra.costUnknown) {
    flags.push({
      kind: 'UPSTREAM_COST_UNKNOWN',
      tenantId: j.tenant_id,
      jobId: j.id,
      details: `job ${j.status}, charged ${j.net}; what Pixelbyte charged for it was never learned (its submit answer was lost), so margin counts the whole charge`,
    });
  }
  const t = extra.totals;
  const charged = BigInt(t?.charged ?? 0n);
  const refunded = BigInt(t?.refunded ?? 0n);
  const upstream = BigInt(t?.upstream ?? 0n);
  return {
    ok: discrepancies.length === 0,
    discrepancies,
    flags,
    // All-time sums: past 2^53 − 1 the numbers are null and the `…Exact` strings carry them.
    totals: wireTotals({
      chargedMicroCents: charged,
      refundedMicroCents: refunded,
      netMicroCents: charged - refunded,
      upstreamCostMicroCents: upstream,
      marginMicroCents: charged - refunded - upstream,
    }),
  };
}
