import { IN_FLIGHT_JOB_STATUS_LIST } from '@tollgate/db';
import { type SQL, sql } from 'drizzle-orm';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { checkPeriod } from '../period.ts';
import { toWireAmount, wireTotals } from '../wire.ts';
import { upstreamRefundedTheOperator } from './upstream-cost.ts';

export const USAGE_DIMENSIONS = ['tenant', 'model', 'day', 'tag'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export type UsageInput = { from: Date; to: Date; groupBy: readonly UsageDimension[] };

/** One usage row as bigints (inside); dimensions not grouped by are null. */
export type UsageRow = {
  tenantId: string | null;
  model: string | null;
  /** UTC day, `YYYY-MM-DD`. */
  day: string | null;
  tag: string | null;
  jobs: bigint;
  completedJobs: bigint;
  failedJobs: bigint;
  cancelledJobs: bigint;
  rejectedJobs: bigint;
  inFlightJobs: bigint;
  chargedMicroCents: bigint;
  refundedMicroCents: bigint;
  netMicroCents: bigint;
  upstreamCostMicroCents: bigint;
  marginMicroCents: bigint;
  /**
   * Charged jobs whose upstream cost is unknown (Pixelbyte's charge never learned: the submit's
   * answer was lost and the job was captured from a webhook or a poll), and what they were charged.
   * Their upstream cost counts as 0, so `marginMicroCents` includes their whole charge.
   */
  upstreamCostUnknownJobs: bigint;
  upstreamCostUnknownChargedMicroCents: bigint;
};

const DIMENSION_COLUMN: Record<UsageDimension, string> = {
  tenant: 'tenant_id',
  model: 'model',
  day: 'day',
  tag: 'tag',
};

/** The expression of each dimension in the money branch (t = transaction, j = its job). */
const MONEY_DIMENSION: Record<UsageDimension, string> = {
  tenant: 't.tenant_id',
  model: 'j.model',
  day: `to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  tag: 'tg.tag',
};

/** The expression of each dimension in the job-count branch (j = a job created in the period). */
const JOB_DIMENSION: Record<UsageDimension, string> = {
  tenant: 'j.tenant_id',
  model: 'j.model',
  day: `to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  tag: 'tg.tag',
};

/**
 * The usage query. Money comes straight from the ledger: every `capture` / `refund` transaction in
 * [from, to) contributes its platform_revenue line (charged +, refunded −), dated by the
 * transaction (so `totals` equal the ledger's revenue lines for the period, to the micro-cent).
 * Upstream cost follows the same events: a capture adds the job's upstream cost, a refund of a
 * failed/cancelled job subtracts it (Pixelbyte refunds those to the operator). A capture of a job
 * whose upstream cost was never learned adds 0 and is counted in `upstream_cost_unknown_jobs` (and
 * its charge in `…_charged`): the margin includes it whole, which each row says. Job counts are the
 * jobs created in [from, to), by status, dated by creation. With `tag`, a job with several tags
 * appears once per tag (and once with tag null when it has none), so tag rows may sum to more than
 * the totals; without `tag`, rows sum exactly to the totals.
 *
 * Shape (for speed at 1M ledger lines): each branch is aggregated on its own by the chosen
 * dimensions (a hash aggregate over the joined rows, computing only the dimensions asked for), and
 * only those small per-group results are appended and summed again. Summing partial integer sums
 * is exact (numeric), so the figures are the same as one aggregate over all the events; what it
 * saves is sorting ~N event rows (which spilled to disk at 1M lines) and formatting a day per row
 * when `day` is not asked for.
 */
export function usageQuery(input: UsageInput): SQL {
  const dims = USAGE_DIMENSIONS.filter((d) => input.groupBy.includes(d));
  const byTag = dims.includes('tag');
  // Every job of the period is in a tag row: its tags, or one NULL tag when it has none.
  const tagJoin = byTag
    ? sql`LEFT JOIN LATERAL unnest(CASE WHEN j.tags IS NULL OR cardinality(j.tags) = 0 THEN ARRAY[NULL::text] ELSE j.tags END) AS tg(tag) ON true`
    : sql``;
  const from = input.from.toISOString();
  const to = input.to.toISOString();
  const columns = dims.map((d) => DIMENSION_COLUMN[d]);
  const branchSelect = (expr: Record<UsageDimension, string>) =>
    sql.raw(dims.map((d) => `${expr[d]} AS ${DIMENSION_COLUMN[d]}, `).join(''));
  // GROUP BY the leading output columns by position (the same expressions as selected).
  const branchGroupBy = sql.raw(dims.length === 0 ? '' : `GROUP BY ${dims.map((_, i) => i + 1).join(', ')}`);
  const selectList = USAGE_DIMENSIONS.map((d) =>
    dims.includes(d) ? DIMENSION_COLUMN[d] : `NULL::text AS ${DIMENSION_COLUMN[d]}`,
  ).join(', ');
  const groupBy = columns.length === 0 ? '' : `GROUP BY ${columns.join(', ')}`;
  const orderBy = columns.length === 0 ? '' : `ORDER BY ${columns.map((c) => `${c} NULLS FIRST`).join(', ')}`;
  // A capture of a job whose upstream cost is unknown, that Pixelbyte did not refund (UPSTREAM_COST_UNKNOWN).
  const costUnknown = sql`t.kind = 'capture' AND j.upstream_cost_micro_cents IS NULL AND NOT ${upstreamRefundedTheOperator('j')}`;
  return sql`
    WITH parts AS (
      SELECT ${branchSelect(MONEY_DIMENSION)}
             0::bigint AS jobs, 0::bigint AS completed, 0::bigint AS failed, 0::bigint AS cancelled,
             0::bigint AS rejected, 0::bigint AS in_flight,
             coalesce(sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'capture'), 0) AS charged,
             coalesce(-sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'refund'), 0) AS refunded,
             coalesce(sum(CASE WHEN t.kind = 'capture' THEN coalesce(j.upstream_cost_micro_cents, 0)
                               WHEN ${upstreamRefundedTheOperator('j')} THEN -coalesce(j.upstream_cost_micro_cents, 0)
                               ELSE 0 END), 0) AS upstream,
             count(*) FILTER (WHERE ${costUnknown}) AS cost_unknown_jobs,
             coalesce(sum(l.amount_micro_cents) FILTER (WHERE ${costUnknown}), 0) AS cost_unknown_charged
        FROM ledger_transactions t
        JOIN ledger_lines l ON l.transaction_id = t.id AND l.account = 'platform_revenue'
        LEFT JOIN jobs j ON j.id = t.job_id
        ${tagJoin}
       WHERE t.kind IN ('capture', 'refund')
         AND t.created_at >= ${from}::timestamptz AND t.created_at < ${to}::timestamptz
       ${branchGroupBy}
      UNION ALL
      SELECT ${branchSelect(JOB_DIMENSION)}
             count(*), count(*) FILTER (WHERE j.status = 'completed'), count(*) FILTER (WHERE j.status = 'failed'),
             count(*) FILTER (WHERE j.status = 'cancelled'), count(*) FILTER (WHERE j.status = 'rejected'),
             count(*) FILTER (WHERE j.status IN (${IN_FLIGHT_JOB_STATUS_LIST})),
             0, 0, 0, 0, 0
        FROM jobs j
        ${tagJoin}
       WHERE j.created_at >= ${from}::timestamptz AND j.created_at < ${to}::timestamptz
       ${branchGroupBy}
    )
    SELECT ${sql.raw(selectList)},
           sum(jobs)::bigint AS jobs, sum(completed)::bigint AS completed_jobs, sum(failed)::bigint AS failed_jobs,
           sum(cancelled)::bigint AS cancelled_jobs, sum(rejected)::bigint AS rejected_jobs,
           sum(in_flight)::bigint AS in_flight_jobs,
           sum(charged)::bigint AS charged_micro_cents, sum(refunded)::bigint AS refunded_micro_cents,
           (sum(charged) - sum(refunded))::bigint AS net_micro_cents,
           sum(upstream)::bigint AS upstream_cost_micro_cents,
           (sum(charged) - sum(refunded) - sum(upstream))::bigint AS margin_micro_cents,
           sum(cost_unknown_jobs)::bigint AS upstream_cost_unknown_jobs,
           sum(cost_unknown_charged)::bigint AS upstream_cost_unknown_charged_micro_cents
      FROM parts
      ${sql.raw(groupBy)}
      ${sql.raw(orderBy)}`;
}

/** Raw row of usageQuery (snake_case, bigint from postgres.js). */
export type UsageSqlRow = {
  tenant_id: string | null;
  model: string | null;
  day: string | null;
  tag: string | null;
  jobs: bigint;
  completed_jobs: bigint;
  failed_jobs: bigint;
  cancelled_jobs: bigint;
  rejected_jobs: bigint;
  in_flight_jobs: bigint;
  charged_micro_cents: bigint;
  refunded_micro_cents: bigint;
  net_micro_cents: bigint;
  upstream_cost_micro_cents: bigint;
  margin_micro_cents: bigint;
  upstream_cost_unknown_jobs: bigint;
  upstream_cost_unknown_charged_micro_cents: bigint;
};

const big = (v: bigint | number | string | null) => (v === null ? 0n : BigInt(v));

export function fromSqlRow(r: UsageSqlRow): UsageRow {
  return {
    tenantId: r.tenant_id,
    model: r.model,
    day: r.day,
    tag: r.tag,
    jobs: big(r.jobs),
    completedJobs: big(r.completed_jobs),
    failedJobs: big(r.failed_jobs),
    cancelledJobs: big(r.cancelled_jobs),
    rejectedJobs: big(r.rejected_jobs),
    inFlightJobs: big(r.in_flight_jobs),
    chargedMicroCents: big(r.charged_micro_cents),
    refundedMicroCents: big(r.refunded_micro_cents),
    netMicroCents: big(r.net_micro_cents),
    upstreamCostMicroCents: big(r.upstream_cost_micro_cents),
    marginMicroCents: big(r.margin_micro_cents),
    upstreamCostUnknownJobs: big(r.upstream_cost_unknown_jobs),
    upstreamCostUnknownChargedMicroCents: big(r.upstream_cost_unknown_charged_micro_cents),
  };
}

const COUNTERS = [
  'jobs',
  'completedJobs',
  'failedJobs',
  'cancelledJobs',
  'rejectedJobs',
  'inFlightJobs',
  'chargedMicroCents',
  'refundedMicroCents',
  'netMicroCents',
  'upstreamCostMicroCents',
  'marginMicroCents',
  'upstreamCostUnknownJobs',
  'upstreamCostUnknownChargedMicroCents',
] as const;

/** Exact (bigint) sum of rows; dimensions null. */
export function sumRows(rows: readonly UsageRow[]): UsageRow {
  const total: UsageRow = {
    tenantId: null,
    model: null,
    day: null,
    tag: null,
    jobs: 0n,
    completedJobs: 0n,
    failedJobs: 0n,
    cancelledJobs: 0n,
    rejectedJobs: 0n,
    inFlightJobs: 0n,
    chargedMicroCents: 0n,
    refundedMicroCents: 0n,
    netMicroCents: 0n,
    upstreamCostMicroCents: 0n,
    marginMicroCents: 0n,
    upstreamCostUnknownJobs: 0n,
    upstreamCostUnknownChargedMicroCents: 0n,
  };
  for (const r of rows) for (const k of COUNTERS) total[k] += r[k];
  return total;
}

function toWireRow(r: UsageRow) {
  return {
    tenantId: r.tenantId,
    model: r.model,
    day: r.day,
    tag: r.tag,
    jobs: toWireAmount(r.jobs),
    completedJobs: toWireAmount(r.completedJobs),
    failedJobs: toWireAmount(r.failedJobs),
    cancelledJobs: toWireAmount(r.cancelledJobs),
    rejectedJobs: toWireAmount(r.rejectedJobs),
    inFlightJobs: toWireAmount(r.inFlightJobs),
    // Sums of money may pass 2^53 − 1: numbers when exact, `…Exact` decimal strings always.
    ...wireTotals({
      chargedMicroCents: r.chargedMicroCents,
      refundedMicroCents: r.refundedMicroCents,
      netMicroCents: r.netMicroCents,
      upstreamCostMicroCents: r.upstreamCostMicroCents,
      marginMicroCents: r.marginMicroCents,
    }),
    upstreamCostUnknownJobs: toWireAmount(r.upstreamCostUnknownJobs),
    ...wireTotals({ upstreamCostUnknownChargedMicroCents: r.upstreamCostUnknownChargedMicroCents }),
    /** True when the margin counts jobs whose upstream cost is unknown as free (it is then too high). */
    marginIncludesUpstreamCostUnknown: r.upstreamCostUnknownJobs > 0n,
  };
}

export type UsageRowView = ReturnType<typeof toWireRow>;

/**
 * At most this many rows in one tRPC answer; bigger reports: the CSV route (streamed). Past the cap
 * the call fails with REPORT_TOO_LARGE (never a silently truncated report: finance would read a
 * partial month as the whole one). Only `MAX_ROWS + 1` rows are fetched to find out.
 */
export const MAX_USAGE_ROWS = 10_000;

/** `finance.usage`: rows per chosen dimensions plus `totals` over the whole period (one snapshot). */
export async function usageReport({
  ctx,
  input,
  maxRows = MAX_USAGE_ROWS,
}: {
  ctx: PrincipalCtx;
  input: UsageInput;
  /** Tests only: a lower cap, so going past it does not need 10,000 groups of data. */
  maxRows?: number;
}): Promise<{
  from: string;
  to: string;
  groupBy: UsageDimension[];
  rows: UsageRowView[];
  totals: UsageRowView;
}> {
  checkPeriod(input.from, input.to);
  const byTag = input.groupBy.includes('tag');
  const tooLarge = () =>
    new DomainError({
      code: 'BAD_REQUEST',
      reason: 'REPORT_TOO_LARGE',
      message: `the report has more than ${maxRows} rows; narrow the period or the grouping, or use GET /reports/usage.csv (no row limit)`,
    });
  const { rows, totals } = await ctx.deps.db.transaction(
    async (tx) => {
      const raw = (await tx.execute(
        sql`${usageQuery(input)} LIMIT ${maxRows + 1}`,
      )) as unknown as UsageSqlRow[];
      if (raw.length > maxRows) throw tooLarge();
      const rows = raw.map(fromSqlRow);
      // Without `tag` the rows partition the events, so their sum IS the total (one scan, not two);
      // with `tag` a job may appear in several rows, so the totals need their own query.
      if (!byTag) return { rows, totals: sumRows(rows) };
      const [totals] = (await tx.execute(usageQuery({ ...input, groupBy: [] }))) as unknown as UsageSqlRow[];
      if (!totals) throw new Error('bug: usage totals returned no row');
      return { rows, totals: fromSqlRow(totals) };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  return {
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    groupBy: USAGE_DIMENSIONS.filter((d) => input.groupBy.includes(d)),
    rows: rows.map(toWireRow),
    totals: toWireRow(totals),
  };
}
