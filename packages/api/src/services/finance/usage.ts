import { publicTenantId, USAGE_MODES, type UsageMode } from '@tollgate/db';
import { type SQL, sql } from 'drizzle-orm';
import { DomainError } from '../../errors.ts';
import type { PrincipalCtx } from '../context.ts';
import { checkPeriodOrder } from '../period.ts';
import { toWireAmount, wireTotals } from '../wire.ts';

export const USAGE_DIMENSIONS = ['tenant', 'model', 'day', 'tag'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
export { USAGE_MODES, type UsageMode };

/** A usage period: whole UTC days, [from, to) (checkUsagePeriod). */
export type UsageInput = { from: Date; to: Date; groupBy: readonly UsageDimension[]; mode: UsageMode };

/** One usage row as bigints (inside); dimensions not grouped by are null. */
export type UsageRow = {
  tenantId: string | null;
  /** The tenant's current name, beside its id (null when not grouped by tenant). */
  tenantName: string | null;
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
   * answer was lost and the job was captured from a webhook or a poll) and that Pixelbyte did not
   * refund, and what they were charged. Their upstream cost counts as 0, so `marginMicroCents`
   * includes their whole charge. Dated by the capture, like the charge.
   */
  upstreamCostUnknownJobs: bigint;
  upstreamCostUnknownChargedMicroCents: bigint;
};

/** The roll-up's key column of each dimension (usage_daily / usage_daily_tags, migration 0016). */
const KEY_COLUMN: Record<UsageDimension, string> = {
  tenant: 'tenant_id',
  model: 'model',
  day: 'day',
  tag: 'tag',
};

const DAY_MS = 86_400_000;

/**
 * The roll-up has one row per UTC day: a usage period is whole UTC days (`from` and `to` at 00:00 UTC,
 * e.g. `2026-01-01`), any length. A period cut inside a day cannot be answered exactly from it, and
 * a report that silently widened the period would read as the narrower one: 400 INVALID_PERIOD.
 */
export function checkUsagePeriod(from: Date, to: Date): void {
  checkPeriodOrder(from, to);
  if (from.getTime() % DAY_MS !== 0 || to.getTime() % DAY_MS !== 0) {
    throw new DomainError({
      reason: 'INVALID_PERIOD',
      message:
        'usage reports cover whole UTC days: `from` and `to` must be midnight UTC (e.g. 2026-01-01 or 2026-01-01T00:00:00Z)',
    });
  }
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The grouped key of the last row of a page; the next page starts after it. */
export type UsageKey = string[];

/**
 * The usage query, over the daily roll-up (never the ledger): the roll-up rows of the period and
 * mode, summed by the chosen dimensions, in key order, optionally after `after` (the last key of
 * the previous page) and limited. Its cost grows with the roll-up rows of the period (tenants ×
 * models × days used), not with the ledger. With `tag` it reads usage_daily_tags, where a job counts
 * once under each of its distinct tags (or once under no tag): tag rows may sum to more than the
 * totals; without `tag`, rows sum exactly to the totals.
 *
 * Keys stay raw inside the query ('' model = money of a hold without a job, '' tag = no tag) so the
 * cursor comparison is a plain row comparison on the roll-up's key columns; they are shown as null.
 */
export function usageQuery(
  input: UsageInput & {
    after?: UsageKey;
    limit?: number;
    /**
     * Another select list over `g` (the grouped roll-up row, raw keys) and `tn` (the tenant): the
     * CSV formats its cells in the same SELECT that orders the rows, so no sort of formatted rows.
     */
    select?: (dims: readonly UsageDimension[]) => string;
  },
): SQL {
  const dims = USAGE_DIMENSIONS.filter((d) => input.groupBy.includes(d));
  const byTag = dims.includes('tag');
  const table = sql.raw(byTag ? 'usage_daily_tags' : 'usage_daily');
  const keys = dims.map((d) => KEY_COLUMN[d]);
  const keyList = sql.raw(keys.map((k) => `u.${k}`).join(', '));
  const after =
    input.after === undefined || keys.length === 0
      ? sql``
      : sql`AND (${keyList}) > (${sql.join(
          dims.map((d, i) => (d === 'day' ? sql`${input.after?.[i]}::date` : sql`${input.after?.[i]}`)),
          sql`, `,
        )})`;
  // Grouped by every key column of the table (tenant, model, day, and tag on the tag table), each
  // roll-up row of the mode IS a group: read the rows as they are, in primary-key order (an index
  // scan, no aggregate, no sort: the CSV of a year streams, a page after a cursor is a range read).
  const fullGrain =
    (['tenant', 'model', 'day'] as const).every((d) => dims.includes(d)) && (!byTag || dims.includes('tag'));
  const total = (column: string) => sql.raw(fullGrain ? `u.${column}` : `coalesce(sum(u.${column}), 0)`);
  const groupBy =
    keys.length === 0
      ? sql``
      : fullGrain
        ? sql`ORDER BY ${keyList}`
        : sql`GROUP BY ${keyList} ORDER BY ${keyList}`;
  const limit = input.limit === undefined ? sql`` : sql`LIMIT ${input.limit}`;
  const outKeys = sql.raw(keys.map((k) => `g.${k}`).join(', '));
  const byTenant = dims.includes('tenant');
  const select = input.select?.(dims) ?? usageColumns(dims);
  return sql`
    SELECT ${sql.raw(select)}
      FROM (
        SELECT ${keys.length === 0 ? sql`` : sql`${keyList},`}
               ${total('jobs')} AS jobs, ${total('completed_jobs')} AS completed_jobs,
               ${total('failed_jobs')} AS failed_jobs, ${total('cancelled_jobs')} AS cancelled_jobs,
               ${total('rejected_jobs')} AS rejected_jobs, ${total('in_flight_jobs')} AS in_flight_jobs,
               ${total('charged_micro_cents')} AS charged_micro_cents,
               ${total('refunded_micro_cents')} AS refunded_micro_cents,
               ${total('upstream_cost_micro_cents')} AS upstream_cost_micro_cents,
               ${total('upstream_cost_unknown_jobs')} AS upstream_cost_unknown_jobs,
               ${total('upstream_cost_unknown_charged_micro_cents')} AS upstream_cost_unknown_charged_micro_cents
          FROM ${table} u
         WHERE u.mode = ${input.mode}
           AND u.day >= ${isoDay(input.from)}::date AND u.day < ${isoDay(input.to)}::date
           ${after}
         ${groupBy}
         ${limit}
      ) g
      ${byTenant ? sql`LEFT JOIN LATERAL (SELECT t.name FROM tenants t WHERE t.id = g.tenant_id) tn ON true` : sql``}
     ${keys.length === 0 ? sql`` : sql`ORDER BY ${outKeys}`}`;
}

/**
 * The select list of a usage row (UsageSqlRow): dimensions shown (null when not grouped by; '' keys
 * as null), the tenant's name, the counters, net and margin. `g` is the grouped roll-up, `tn` the
 * tenant (when grouped by tenant).
 */
function usageColumns(dims: readonly UsageDimension[]): string {
  const show = (d: UsageDimension) => {
    if (!dims.includes(d)) return `NULL::text AS ${KEY_COLUMN[d]}`;
    if (d === 'day') return `to_char(g.day, 'YYYY-MM-DD') AS day`;
    if (d === 'model' || d === 'tag') return `nullif(g.${d}, '') AS ${d}`;
    return `g.${KEY_COLUMN[d]}`;
  };
  return `${USAGE_DIMENSIONS.map(show).join(', ')},
    ${dims.includes('tenant') ? 'tn.name' : 'NULL::text'} AS tenant_name,
    g.jobs, g.completed_jobs, g.failed_jobs, g.cancelled_jobs, g.rejected_jobs, g.in_flight_jobs,
    g.charged_micro_cents, g.refunded_micro_cents, ${USAGE_NET} AS net_micro_cents,
    g.upstream_cost_micro_cents, ${USAGE_MARGIN} AS margin_micro_cents,
    g.upstream_cost_unknown_jobs, g.upstream_cost_unknown_charged_micro_cents`;
}

/** Net and margin of a grouped row `g` (SQL expressions; the CSV formats them too). */
export const USAGE_NET = '(g.charged_micro_cents - g.refunded_micro_cents)';
export const USAGE_MARGIN = '(g.charged_micro_cents - g.refunded_micro_cents - g.upstream_cost_micro_cents)';

/** Raw row of usageQuery (snake_case; sums arrive as numeric strings, exact). */
export type UsageSqlRow = {
  tenant_id: string | null;
  tenant_name: string | null;
  model: string | null;
  day: string | null;
  tag: string | null;
  jobs: string;
  completed_jobs: string;
  failed_jobs: string;
  cancelled_jobs: string;
  rejected_jobs: string;
  in_flight_jobs: string;
  charged_micro_cents: string;
  refunded_micro_cents: string;
  net_micro_cents: string;
  upstream_cost_micro_cents: string;
  margin_micro_cents: string;
  upstream_cost_unknown_jobs: string;
  upstream_cost_unknown_charged_micro_cents: string;
};

const big = (v: bigint | number | string | null) => (v === null ? 0n : BigInt(v));

export function fromSqlRow(r: UsageSqlRow): UsageRow {
  return {
    // A sandbox's rows (mode test) name the tenant itself, as every answer in test mode does.
    tenantId: r.tenant_id === null ? null : publicTenantId(r.tenant_id),
    tenantName: r.tenant_name,
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

function toWireRow(r: UsageRow) {
  return {
    tenantId: r.tenantId,
    tenantName: r.tenantName,
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

/** Rows per `finance.usage` page when `limit` is not given, and the most one page may ask for. */
export const DEFAULT_USAGE_PAGE = 1_000;
export const MAX_USAGE_PAGE = 10_000;

/**
 * The usage cursor: the grouping it was made for and the last row's raw key, base64url JSON. Opaque
 * to callers; one made for another grouping (or not made by us) is 400 INVALID_CURSOR, never a
 * silently different page.
 */
export function encodeUsageCursor(dims: readonly UsageDimension[], key: UsageKey): string {
  return Buffer.from(JSON.stringify({ g: dims.join(','), k: key })).toString('base64url');
}

export function decodeUsageCursor(cursor: string, dims: readonly UsageDimension[]): UsageKey {
  const invalid = () =>
    new DomainError({
      reason: 'INVALID_CURSOR',
      message: 'not a cursor of this report (pass nextCursor back as is, with the same groupBy)',
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const p = parsed as { g?: unknown; k?: unknown };
  if (
    typeof p !== 'object' ||
    p === null ||
    p.g !== dims.join(',') ||
    !Array.isArray(p.k) ||
    p.k.length !== dims.length ||
    dims.length === 0 ||
    !p.k.every((v) => typeof v === 'string')
  ) {
    throw invalid();
  }
  const key = p.k as string[];
  const dayAt = dims.indexOf('day');
  if (dayAt >= 0 && !/^\d{4}-\d{2}-\d{2}$/.test(key[dayAt] ?? '')) throw invalid();
  return key;
}

/** The raw key of a row (what the next page starts after): '' for a model/tag shown as null. */
function keyOf(r: UsageSqlRow, dims: readonly UsageDimension[]): UsageKey {
  return dims.map(
    (d) => (d === 'tenant' ? r.tenant_id : d === 'day' ? r.day : d === 'model' ? r.model : r.tag) ?? '',
  );
}

/**
 * `finance.usage`: one page of rows per chosen dimensions (`limit`, then `nextCursor` until null),
 * and `totals` over the whole period (every page carries them, read in the same snapshot as its rows).
 */
export async function usageReport({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: UsageInput & { cursor?: string | undefined; limit?: number | undefined };
}): Promise<{
  from: string;
  to: string;
  mode: UsageMode;
  groupBy: UsageDimension[];
  rows: UsageRowView[];
  nextCursor: string | null;
  totals: UsageRowView;
}> {
  checkUsagePeriod(input.from, input.to);
  const dims = USAGE_DIMENSIONS.filter((d) => input.groupBy.includes(d));
  const limit = input.limit ?? DEFAULT_USAGE_PAGE;
  const after = input.cursor === undefined ? undefined : decodeUsageCursor(input.cursor, dims);
  const { raw, totals } = await ctx.deps.reportsDb.transaction(
    async (tx) => {
      const period = { from: input.from, to: input.to, mode: input.mode };
      const raw = (await tx.execute(
        usageQuery({ ...period, groupBy: dims, limit: limit + 1, ...(after ? { after } : {}) }),
      )) as unknown as UsageSqlRow[];
      const [totals] = (await tx.execute(usageQuery({ ...period, groupBy: [] }))) as unknown as UsageSqlRow[];
      if (!totals) throw new Error('bug: usage totals returned no row');
      return { raw, totals };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  const page = raw.slice(0, limit);
  const last = page.at(-1);
  return {
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    mode: input.mode,
    groupBy: dims,
    rows: page.map((r) => toWireRow(fromSqlRow(r))),
    nextCursor: raw.length > limit && last !== undefined ? encodeUsageCursor(dims, keyOf(last, dims)) : null,
    totals: toWireRow(fromSqlRow(totals)),
  };
}
