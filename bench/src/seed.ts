// Scenario 5 data: a ledger of `lines` lines made of completed jobs (hold + capture = 4 lines each),
// spread over `tenantIds` and over the last `days` days, written in set-based SQL chunks. The
// cached balances are debited by exactly what the lines say, so `reconcile` stays clean: the
// benchmark never times reports over books that would not balance. Job i goes to tenant
// i mod T on day ⌊i / T⌋ mod `days` (back from today): every tenant has a job on every day as soon
// as there are T × days jobs, so the usage roll-up (one row per tenant × model × day, kept by the
// migration-0017 triggers as these rows are inserted) is full from then on and stops growing with
// the ledger, as it does for an operator whose tenants are active every day.
import type { Sql } from '@tollgate/db/client';

export interface SeedOptions {
  tenantIds: readonly string[];
  /** Ledger lines to add (rounded down to a multiple of 4). */
  lines: number;
  priceMicroCents: bigint;
  model: string;
  days: number;
  /**
   * Jobs per DB transaction (default 2,000). Versions made inside one transaction cannot be pruned
   * before it commits, and each job updates its roll-up row more than once: with 25,000 jobs a chunk
   * every roll-up row took 3–6 versions in one transaction, overflowed the half-empty pages
   * (migration 0020) into new ones, and the roll-up doubled between 100k and 1M lines (~1,100 →
   * 2,200–2,500 pages, 2026-12-07): a year's report, a scan of it, measured the seed. An operator's
   * job steps are transactions of their own. 2,000 jobs touch ~11% of 18,250 rows, whose new
   * versions fit in the free half of their pages (1,042 → 1,093 pages), and seeding takes as long.
   */
  chunk?: number;
  /** Index of the first job (ids and the tenant/day rotation continue from it): seeding in steps. */
  firstJob?: number;
  onProgress?: (linesDone: number) => void;
  /** VACUUM the usage roll-up after each chunk, as autovacuum does between an operator's days (default true). */
  vacuumRollup?: boolean;
}

/** Returns the number of jobs written (4 ledger lines each). */
export async function seedLedger(sql: Sql, opts: SeedOptions): Promise<number> {
  const jobs = Math.floor(opts.lines / 4);
  const chunk = opts.chunk ?? 2_000;
  const first = opts.firstJob ?? 0;
  const tenants = [...opts.tenantIds];
  const price = `${opts.priceMicroCents}`;
  // One "now" for every chunk: chunks a second apart on either side of midnight would otherwise put
  // the same rotation day on two dates.
  const [clock] = await sql<{ now: string }[]>`SELECT now()::text AS now`;
  const anchor = clock?.now ?? new Date().toISOString();
  for (let done = 0; done < jobs; done += chunk) {
    const n = Math.min(chunk, jobs - done);
    const from = first + done;
    await sql.begin(async (tx) => {
      // One row per job: its ids, tenant (round robin) and a creation time within the window.
      await tx`
        CREATE TEMP TABLE seed_jobs ON COMMIT DROP AS
        SELECT 'job_seed' || lpad((${from}::int + g)::text, 12, '0') AS job_id,
               'hold_seed' || lpad((${from}::int + g)::text, 12, '0') AS hold_id,
               'txn_seedh' || lpad((${from}::int + g)::text, 12, '0') AS hold_txn,
               'txn_seedc' || lpad((${from}::int + g)::text, 12, '0') AS capture_txn,
               (${tenants}::text[])[1 + ((${from}::int + g) % ${tenants.length}::int)] AS tenant_id,
               ${anchor}::timestamptz - make_interval(days => ((${from}::int + g) / ${tenants.length}::int) % ${opts.days}::int)
                     -- Up to an hour earlier, but never before the day's UTC midnight: job i's day
                     -- is the rotation's, whatever the time of the run (seed.test.ts counts days).
                     - random() * least(interval '1 hour', ${anchor}::timestamptz - date_trunc('day', ${anchor}::timestamptz, 'UTC')) AS at
        FROM generate_series(0, ${n - 1}::int) AS g`;
      // Lock the balance rows in tenant order FIRST, as the gateway's statements do (balance row,
      // then the tenant's usage roll-up rows, which the inserts below update through triggers):
      // the gateway's poller may still be completing earlier jobs, and taking the roll-up rows
      // before the balance rows would be the opposite order, a deadlock.
      await tx`
        SELECT 1 FROM tenant_balances
         WHERE tenant_id IN (SELECT tenant_id FROM seed_jobs)
         ORDER BY tenant_id FOR UPDATE`;
      await tx`
        INSERT INTO jobs (id, tenant_id, model, input, status, cost_micro_cents, list_cost_micro_cents,
          price_version, upstream_job_id, upstream_cost_micro_cents, fingerprint, hold_id, deadline_at,
          created_at, updated_at, completed_at)
        SELECT job_id, tenant_id, ${opts.model}, '{"prompt":"seed"}'::jsonb, 'completed', ${price}::bigint,
          ${price}::bigint, 'seed', 'up_' || job_id, ${price}::bigint, 'seed:' || job_id, hold_id,
          at + interval '1 hour', at, at, at
        FROM seed_jobs`;
      await tx`
        INSERT INTO holds (id, tenant_id, job_id, amount_micro_cents, status, captured_micro_cents, created_at, resolved_at)
        SELECT hold_id, tenant_id, job_id, ${price}::bigint, 'captured', ${price}::bigint, at, at FROM seed_jobs`;
      await tx`
        INSERT INTO ledger_transactions (id, kind, tenant_id, hold_id, job_id, idempotency_key, request_fingerprint, actor, created_at)
        SELECT hold_txn, 'hold'::ledger_kind, tenant_id, hold_id, job_id, 'hold:job:' || job_id, 'seed', 'bench:seed', at FROM seed_jobs
        UNION ALL
        SELECT capture_txn, 'capture'::ledger_kind, tenant_id, hold_id, job_id, 'capture:' || hold_id, 'seed', 'bench:seed', at FROM seed_jobs`;
      // Running balances of seeded lines are unknown (they interleave with live traffic): null.
      await tx`
        INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents, created_at)
        SELECT hold_txn, 'tenant_available'::ledger_account, tenant_id, -${price}::bigint, NULL::bigint, at FROM seed_jobs
        UNION ALL SELECT hold_txn, 'tenant_held', tenant_id, ${price}::bigint, NULL, at FROM seed_jobs
        UNION ALL SELECT capture_txn, 'tenant_held', tenant_id, -${price}::bigint, NULL, at FROM seed_jobs
        UNION ALL SELECT capture_txn, 'platform_revenue', NULL, ${price}::bigint, NULL, at FROM seed_jobs`;
      await tx`
        UPDATE tenant_balances b SET available_micro_cents = b.available_micro_cents - s.total, updated_at = now()
        FROM (SELECT tenant_id, count(*) * ${price}::bigint AS total FROM seed_jobs GROUP BY tenant_id) s
        WHERE b.tenant_id = s.tenant_id`;
    });
    // A year of usage written in minutes: every roll-up row is updated ~37 times (1M lines) with no
    // autovacuum in between, so without this the roll-up tables grew with the ledger (the same 18,250
    // rows in 1,828 pages at 100k lines, 16,907 at 1M) and a year's report, which reads every page of
    // its period, measured the seeding rather than the roll-up. An operator's usage comes in over
    // days, with autovacuum (every minute at most, more often on the roll-up: migration 0020) freeing
    // the dead versions for the next updates to reuse: vacuuming the roll-up after each chunk keeps it
    // at the size it has there. The ledger tables are left alone (append-only: nothing to free).
    if (opts.vacuumRollup !== false) await sql`VACUUM usage_daily, usage_daily_tags`;
    opts.onProgress?.((done + n) * 4);
  }
  return jobs;
}
