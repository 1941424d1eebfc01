// Reconciliation: proves the cached balances, holds and jobs agree with the ledger. Read-only.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';
import { IN_FLIGHT_JOB_STATUS_LIST } from '../schema';
import { type Executor, rows } from './internal';

export type DiscrepancyKind =
  /** Cached available/held ≠ the sum of the tenant's ledger lines for that account. */
  | 'BALANCE_MISMATCH'
  /** Cached held ≠ the sum of the tenant's open holds. */
  | 'HELD_MISMATCH'
  | 'NEGATIVE_BALANCE'
  /** A ledger transaction whose lines do not sum to zero (or has fewer than two lines). */
  | 'UNBALANCED_TRANSACTION'
  /** More than one capture/release, or more than one refund, for one hold. */
  | 'HOLD_RESOLVED_TWICE'
  /** A hold whose status disagrees with its ledger transactions. */
  | 'HOLD_STATE_MISMATCH'
  /** A terminal job whose money is not settled the way its status says. */
  | 'UNSETTLED_JOB'
  /** A non-terminal job past its deadline (DB clock). */
  | 'OVERDUE_JOB'
  /** active_jobs ≠ non-terminal jobs + open bare holds. */
  | 'ACTIVE_JOBS_MISMATCH'
  /** A usage roll-up row (usage_daily or usage_daily_tags) ≠ the same day recomputed from the ledger. */
  | 'USAGE_ROLLUP_MISMATCH';

export interface Discrepancy {
  kind: DiscrepancyKind;
  tenantId?: string;
  jobId?: string;
  holdId?: string;
  transactionId?: string;
  expectedMicroCents?: bigint;
  actualMicroCents?: bigint;
  details: string;
}

/** Not errors in the books, but things finance must look at. */
export interface ReviewFlag {
  /**
   * UPSTREAM_JOB_ID_COLLISION: Pixelbyte named, for this job, an upstream job already linked to
   * another of ours (`holderJobId` in the details); this job was not captured for it.
   */
  kind: 'UPSTREAM_COST_MISMATCH' | 'NEEDS_REVIEW' | 'UPSTREAM_JOB_ID_COLLISION';
  tenantId: string;
  jobId: string;
  details: string;
}

export interface ReconcileResult {
  /** True when there is no discrepancy (flags do not make it false). */
  ok: boolean;
  discrepancies: Discrepancy[];
  flags: ReviewFlag[];
}

/** Returns every discrepancy between cached balances, holds, jobs and the ledger. */
export async function reconcile(db: Db): Promise<ReconcileResult> {
  const discrepancies: Discrepancy[] = [];
  const flags: ReviewFlag[] = [];
  // One snapshot for all checks, so concurrent movements cannot produce false alarms.
  await db.transaction(
    async (tx) => {
      const balances = await rows<{
        tenant_id: string;
        available: bigint;
        held: bigint;
        ledger_available: string;
        ledger_held: string;
        open_holds: string;
      }>(
        tx,
        sql`SELECT b.tenant_id, b.available_micro_cents AS available, b.held_micro_cents AS held,
              coalesce((SELECT sum(amount_micro_cents) FROM ledger_lines l
                 WHERE l.tenant_id = b.tenant_id AND l.account = 'tenant_available'), 0)::text AS ledger_available,
              coalesce((SELECT sum(amount_micro_cents) FROM ledger_lines l
                 WHERE l.tenant_id = b.tenant_id AND l.account = 'tenant_held'), 0)::text AS ledger_held,
              coalesce((SELECT sum(amount_micro_cents) FROM holds h
                 WHERE h.tenant_id = b.tenant_id AND h.status = 'open'), 0)::text AS open_holds
            FROM tenant_balances b`,
      );
      for (const b of balances) {
        const ledgerAvailable = BigInt(b.ledger_available);
        const ledgerHeld = BigInt(b.ledger_held);
        const openHolds = BigInt(b.open_holds);
        if (b.available < 0n || b.held < 0n) {
          discrepancies.push({
            kind: 'NEGATIVE_BALANCE',
            tenantId: b.tenant_id,
            details: `available ${b.available}, held ${b.held}`,
          });
        }
        if (b.available !== ledgerAvailable) {
          discrepancies.push({
            kind: 'BALANCE_MISMATCH',
            tenantId: b.tenant_id,
            expectedMicroCents: ledgerAvailable,
            actualMicroCents: b.available,
            details: `cached available ${b.available} ≠ ledger ${ledgerAvailable}`,
          });
        }
        if (b.held !== ledgerHeld) {
          discrepancies.push({
            kind: 'BALANCE_MISMATCH',
            tenantId: b.tenant_id,
            expectedMicroCents: ledgerHeld,
            actualMicroCents: b.held,
            details: `cached held ${b.held} ≠ ledger ${ledgerHeld}`,
          });
        }
        if (b.held !== openHolds) {
          discrepancies.push({
            kind: 'HELD_MISMATCH',
            tenantId: b.tenant_id,
            expectedMicroCents: openHolds,
            actualMicroCents: b.held,
            details: `cached held ${b.held} ≠ open holds ${openHolds}`,
          });
        }
      }

      const unbalanced = await rows<{ id: string; tenant_id: string; n: bigint; total: string }>(
        tx,
        sql`SELECT t.id, t.tenant_id, count(l.id) AS n, coalesce(sum(l.amount_micro_cents), 0)::text AS total
            FROM ledger_transactions t LEFT JOIN ledger_lines l ON l.transaction_id = t.id
            GROUP BY t.id HAVING count(l.id) < 2 OR coalesce(sum(l.amount_micro_cents), 0) <> 0`,
      );
      for (const u of unbalanced) {
        discrepancies.push({
          kind: 'UNBALANCED_TRANSACTION',
          tenantId: u.tenant_id,
          transactionId: u.id,
          details: `${u.n} lines summing to ${u.total}`,
        });
      }

      const holdChecks = await rows<{
        id: string;
        tenant_id: string;
        status: string;
        refunded: boolean;
        holds_n: bigint;
        resolutions: bigint;
        captures: bigint;
        releases: bigint;
        refunds: bigint;
      }>(
        tx,
        sql`SELECT h.id, h.tenant_id, h.status, h.refunded_at IS NOT NULL AS refunded,
              count(*) FILTER (WHERE t.kind = 'hold') AS holds_n,
              count(*) FILTER (WHERE t.kind IN ('capture', 'release')) AS resolutions,
              count(*) FILTER (WHERE t.kind = 'capture') AS captures,
              count(*) FILTER (WHERE t.kind = 'release') AS releases,
              count(*) FILTER (WHERE t.kind = 'refund') AS refunds
            FROM holds h LEFT JOIN ledger_transactions t ON t.hold_id = h.id
            GROUP BY h.id`,
      );
      for (const h of holdChecks) {
        if (h.resolutions > 1n || h.refunds > 1n) {
          discrepancies.push({
            kind: 'HOLD_RESOLVED_TWICE',
            tenantId: h.tenant_id,
            holdId: h.id,
            details: `${h.captures} captures, ${h.releases} releases, ${h.refunds} refunds`,
          });
          continue;
        }
        const expected =
          h.holds_n === 1n &&
          ((h.status === 'open' && h.resolutions === 0n) ||
            (h.status === 'captured' && h.captures === 1n) ||
            (h.status === 'released' && h.releases === 1n)) &&
          (h.refunded ? h.refunds === 1n : h.refunds === 0n);
        if (!expected) {
          discrepancies.push({
            kind: 'HOLD_STATE_MISMATCH',
            tenantId: h.tenant_id,
            holdId: h.id,
            details: `status ${h.status}${h.refunded ? ' (refunded)' : ''} with ${h.holds_n} hold, ${h.captures} capture, ${h.releases} release, ${h.refunds} refund transactions`,
          });
        }
      }

      const jobChecks = await rows<{
        id: string;
        tenant_id: string;
        status: string;
        hold_status: string | null;
        hold_refunded: boolean;
        cost: bigint;
        refunded: bigint;
        overdue: boolean;
        cost_mismatch: boolean;
        needs_review: boolean;
        upstream_cost: bigint | null;
        list_cost: bigint;
        collided_upstream_job_id: string | null;
        collision_holder: string | null;
      }>(
        tx,
        sql`SELECT j.id, j.tenant_id, j.status, h.status AS hold_status, h.refunded_at IS NOT NULL AS hold_refunded,
              j.cost_micro_cents AS cost, j.refunded_micro_cents AS refunded,
              (j.status IN (${IN_FLIGHT_JOB_STATUS_LIST}) AND j.deadline_at < now()) AS overdue,
              j.cost_mismatch, j.needs_review, j.upstream_cost_micro_cents AS upstream_cost,
              j.list_cost_micro_cents AS list_cost, j.collided_upstream_job_id,
              o.id AS collision_holder
            FROM jobs j LEFT JOIN holds h ON h.id = j.hold_id
              LEFT JOIN jobs o ON o.upstream_job_id = j.collided_upstream_job_id`,
      );
      for (const j of jobChecks) {
        const problem = unsettledJob(j.status, j.hold_status, j.hold_refunded, j.cost, j.refunded);
        if (problem) {
          discrepancies.push({ kind: 'UNSETTLED_JOB', tenantId: j.tenant_id, jobId: j.id, details: problem });
        }
        if (j.overdue) {
          discrepancies.push({
            kind: 'OVERDUE_JOB',
            tenantId: j.tenant_id,
            jobId: j.id,
            details: `still ${j.status} past its deadline`,
          });
        }
        if (j.cost_mismatch) {
          flags.push({
            kind: 'UPSTREAM_COST_MISMATCH',
            tenantId: j.tenant_id,
            jobId: j.id,
            details: `upstream charged ${j.upstream_cost}, list price ${j.list_cost}`,
          });
        }
        if (j.collided_upstream_job_id !== null) {
          flags.push({
            kind: 'UPSTREAM_JOB_ID_COLLISION',
            tenantId: j.tenant_id,
            jobId: j.id,
            details: `Pixelbyte named upstream job ${j.collided_upstream_job_id} for this job, already linked to job ${j.collision_holder ?? '(none now)'}; not captured for it (job ${j.status})`,
          });
        }
        if (j.needs_review) {
          flags.push({
            kind: 'NEEDS_REVIEW',
            tenantId: j.tenant_id,
            jobId: j.id,
            details: `job ${j.status}, flagged`,
          });
        }
      }

      const active = await rows<{ tenant_id: string; active_jobs: number; expected: bigint }>(
        tx,
        sql`SELECT b.tenant_id, b.active_jobs,
              (SELECT count(*) FROM jobs j WHERE j.tenant_id = b.tenant_id
                 AND j.status IN (${IN_FLIGHT_JOB_STATUS_LIST}))
              + (SELECT count(*) FROM holds h WHERE h.tenant_id = b.tenant_id AND h.job_id IS NULL AND h.status = 'open')
              AS expected
            FROM tenant_balances b`,
      );
      for (const a of active) {
        if (BigInt(a.active_jobs) !== a.expected) {
          discrepancies.push({
            kind: 'ACTIVE_JOBS_MISMATCH',
            tenantId: a.tenant_id,
            details: `active_jobs ${a.active_jobs} ≠ ${a.expected} non-terminal jobs and open bare holds`,
          });
        }
      }

      for (const table of ['usage_daily', 'usage_daily_tags'] as const) {
        for (const m of await rollupMismatches(tx, table)) discrepancies.push(m);
      }
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  return { ok: discrepancies.length === 0, discrepancies, flags };
}

const ROLLUP_COUNTERS = [
  'jobs',
  'completed_jobs',
  'failed_jobs',
  'cancelled_jobs',
  'rejected_jobs',
  'in_flight_jobs',
  'charged_micro_cents',
  'refunded_micro_cents',
  'upstream_cost_micro_cents',
  'upstream_cost_unknown_jobs',
  'upstream_cost_unknown_charged_micro_cents',
] as const;

/** At most this many roll-up mismatches are listed (one broken trigger would list every day). */
const MAX_ROLLUP_MISMATCHES = 1_000;

/**
 * Roll-up = ledger: every row of `table` against the same day recomputed from the ledger and the
 * jobs (the `…_from_ledger` views of migration 0017, the definition the triggers implement). A row
 * missing on one side counts as all zeros. A full scan of the ledger: reconcile only, never a report.
 */
async function rollupMismatches(
  tx: Executor,
  table: 'usage_daily' | 'usage_daily_tags',
): Promise<Discrepancy[]> {
  const keys =
    table === 'usage_daily'
      ? ['tenant_id', 'model', 'day', 'mode']
      : ['tenant_id', 'model', 'day', 'mode', 'tag'];
  const side = (alias: string) => ROLLUP_COUNTERS.map((c) => `coalesce(${alias}.${c}, 0)`).join(', ');
  const found = await rows<Record<string, string | null>>(
    tx,
    sql.raw(`
      SELECT ${keys.map((k) => `coalesce(u.${k}, e.${k})::text AS ${k}`).join(', ')},
             ${ROLLUP_COUNTERS.map((c) => `coalesce(u.${c}, 0)::text AS u_${c}, coalesce(e.${c}, 0)::text AS e_${c}`).join(', ')}
        FROM ${table} u FULL JOIN ${table}_from_ledger e USING (${keys.join(', ')})
       WHERE (${side('u')}) IS DISTINCT FROM (${side('e')})
       LIMIT ${MAX_ROLLUP_MISMATCHES}`),
  );
  return found.map((r) => {
    const differ = ROLLUP_COUNTERS.filter((c) => r[`u_${c}`] !== r[`e_${c}`]).map(
      (c) => `${c} ${r[`u_${c}`]} (ledger ${r[`e_${c}`]})`,
    );
    const where = keys
      .slice(1)
      .map((k) => `${k} ${JSON.stringify(r[k])}`)
      .join(', ');
    return {
      kind: 'USAGE_ROLLUP_MISMATCH' as const,
      tenantId: r.tenant_id ?? '',
      details: `${table} ${where}: ${differ.join(', ')}`,
    };
  });
}

/** How a job's hold must look for its status; a message when it does not. */
function unsettledJob(
  status: string,
  holdStatus: string | null,
  holdRefunded: boolean,
  cost: bigint,
  refunded: bigint,
): string | undefined {
  if (holdStatus === null) return `job ${status} has no hold`;
  switch (status) {
    case 'submitting':
    case 'unknown':
      return holdStatus === 'open' ? undefined : `${status} job's hold is ${holdStatus}, expected open`;
    case 'pending':
    case 'processing':
    case 'completed':
      if (holdStatus !== 'captured' || holdRefunded)
        return `${status} job's hold is ${holdStatus}${holdRefunded ? ' and refunded' : ''}, expected captured`;
      return refunded === 0n ? undefined : `${status} job records a refund of ${refunded}`;
    case 'failed':
    case 'cancelled':
      // Charged then refunded once; or never charged (released) when upstream never accepted it.
      if (holdStatus === 'captured' && holdRefunded && refunded === cost) return undefined;
      if (holdStatus === 'released' && refunded === 0n) return undefined;
      return `${status} job: hold ${holdStatus}${holdRefunded ? ' (refunded)' : ''}, job refunded ${refunded} of ${cost}`;
    case 'rejected':
      return holdStatus === 'released' && refunded === 0n
        ? undefined
        : `rejected job's hold is ${holdStatus}, expected released`;
    default:
      return `unknown job status ${status}`;
  }
}
