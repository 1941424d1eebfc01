// Baseline (b): the hold transaction `jobs.submit` runs in the ledger (`openJob` in
// packages/db/src/ledger/jobs.ts), written out as raw SQL and looped from postgres.js, statement for
// statement and round trip for round trip (5): BEGIN; the job row claiming the idempotency slot (its
// foreign key to tenants is the tenant check, no separate SELECT); the single conditional balance
// UPDATE (money + limits, `reserve` in holds.ts); the hold row, the ledger transaction and its two
// lines in ONE data-modifying CTE (`recordHold` -> `postTransaction` in internal.ts); COMMIT (where
// the deferred double-entry triggers run). No HTTP, no tRPC, no ORM: the database's ceiling for our
// accounting. (A refusal here just rolls back; openJob also reads the row once to say why, which
// the bench never hits: its tenants are credited far more than a run can spend.)
// KEEP IN SYNC with openJob/reserve/recordHold/postTransaction when the ledger's SQL changes.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Sql } from '@tollgate/db/client';
import type { Progress } from './load';
import { Histogram, type LatencySummary } from './stats';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Same shape as the ledger's ids (`job_` + 20 base-36 chars). */
export function benchId(prefix: 'job' | 'hold' | 'txn'): string {
  let out = '';
  for (const b of randomBytes(20)) out += ALPHABET[b % 36];
  return `${prefix}_${out}`;
}

/** One hold as openJob does it. Returns false when the balance UPDATE refused (no money or a limit). */
export async function rawHold(
  sql: Sql,
  h: { tenantId: string; model: string; input: unknown; amountMicroCents: bigint },
): Promise<boolean> {
  const jobId = benchId('job');
  const holdId = benchId('hold');
  const txnId = benchId('txn');
  // postgres.js parameters are typed without bigint here: send exact decimal text, cast in SQL.
  const amount = `${h.amountMicroCents}`;
  const minusAmount = `${-h.amountMicroCents}`;
  return sql
    .begin(async (tx) => {
      await tx`
      INSERT INTO jobs (id, tenant_id, model, input, status, cost_micro_cents, list_cost_micro_cents,
        price_version, tags, webhook_url, idempotency_key, fingerprint, hold_id, deadline_at)
      VALUES (${jobId}, ${h.tenantId}, ${h.model}, ${JSON.stringify(h.input)}::jsonb, 'submitting', ${amount}::bigint, ${amount}::bigint,
        'bench', '{}', NULL, NULL, ${`bench:${jobId}`}, ${holdId}, now() + make_interval(secs => 3600))
      ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
      RETURNING *`;
      const [reserved] = await tx<{ available_micro_cents: bigint; held_micro_cents: bigint }[]>`
      WITH clock AS (
        SELECT (now() AT TIME ZONE 'UTC')::date AS today, date_trunc('minute', now(), 'UTC') AS minute
      )
      UPDATE tenant_balances b SET
        available_micro_cents = b.available_micro_cents - ${amount}::bigint,
        held_micro_cents = b.held_micro_cents + ${amount}::bigint,
        active_jobs = b.active_jobs + 1,
        spend_today_micro_cents =
          CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents + ${amount}::bigint ELSE ${amount}::bigint END,
        spend_day = c.today,
        rate_window_count = CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count + 1 ELSE 1 END,
        rate_window_start = c.minute,
        updated_at = now()
      FROM tenants t, clock c
      WHERE b.tenant_id = ${h.tenantId}
        AND t.id = b.tenant_id
        AND t.status = 'active'
        AND b.available_micro_cents >= ${amount}::bigint
        AND (t.max_concurrent_jobs IS NULL OR b.active_jobs < t.max_concurrent_jobs)
        AND (t.daily_spend_limit_micro_cents IS NULL OR
             (CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents ELSE 0 END)
               <= t.daily_spend_limit_micro_cents - ${amount}::bigint)
        AND (t.requests_per_minute IS NULL OR
             (CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END) < t.requests_per_minute)
      RETURNING b.available_micro_cents, b.held_micro_cents`;
      if (!reserved) {
        // Roll back like the ledger does on a refusal: nothing of this attempt may stay.
        throw new RefusedHold();
      }
      // One statement, as postTransaction sends it: hold row, then the transaction, then its lines
      // (foreign keys are checked at the end of the statement).
      await tx`
      WITH pre AS (
        INSERT INTO holds (id, tenant_id, job_id, amount_micro_cents)
        VALUES (${holdId}, ${h.tenantId}, ${jobId}, ${amount}::bigint)
      ), txn AS (
        INSERT INTO ledger_transactions
          (id, kind, tenant_id, hold_id, job_id, idempotency_key, request_fingerprint, reference, reason, actor)
        VALUES (${txnId}, 'hold', ${h.tenantId}, ${holdId}, ${jobId}, ${`hold:job:${jobId}`},
          ${JSON.stringify({ amountMicroCents: amount, jobId, op: 'hold' })}, NULL, NULL, ${`tenant:${h.tenantId}`})
      )
      INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
      VALUES (${txnId}, 'tenant_available', ${h.tenantId}, ${minusAmount}::bigint, ${`${reserved.available_micro_cents}`}::bigint),
             (${txnId}, 'tenant_held', ${h.tenantId}, ${amount}::bigint, ${`${reserved.held_micro_cents}`}::bigint)`;
      return true;
    })
    .catch((err: unknown) => {
      if (err instanceof RefusedHold) return false;
      throw err;
    });
}

class RefusedHold extends Error {
  constructor() {
    super('hold refused');
  }
}

export interface SqlLoopResult {
  concurrency: number;
  durationMs: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  okPerSecond: number;
  latency: LatencySummary;
}

/** `concurrency` loops of `rawHold` for `durationMs` over the tenants (round robin). */
export async function runHoldLoop(opts: {
  sql: Sql;
  tenantIds: readonly string[];
  model: string;
  input: unknown;
  amountMicroCents: bigint;
  concurrency: number;
  durationMs: number;
  onProgress?: (p: Progress) => void;
}): Promise<SqlLoopResult> {
  const histogram = new Histogram();
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  let lastOk = 0;
  let lastAt = start;
  const progress = setInterval(() => {
    const now = performance.now();
    opts.onProgress?.({
      elapsedMs: now - start,
      ok,
      failed,
      currentRps: ((ok - lastOk) * 1000) / (now - lastAt),
    });
    lastOk = ok;
    lastAt = now;
  }, 2_000);
  const worker = async () => {
    while (performance.now() < deadline) {
      const tenantId = opts.tenantIds[next++ % opts.tenantIds.length] ?? '';
      const t0 = performance.now();
      let outcome: true | string;
      try {
        outcome = (await rawHold(opts.sql, {
          tenantId,
          model: opts.model,
          input: opts.input,
          amountMicroCents: opts.amountMicroCents,
        }))
          ? true
          : 'refused';
      } catch (err) {
        outcome = (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
      }
      const t1 = performance.now();
      if (t1 > deadline) continue;
      if (outcome === true) {
        ok += 1;
        histogram.record((t1 - t0) * 1000);
      } else {
        failed += 1;
        errors[outcome] = (errors[outcome] ?? 0) + 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    clearInterval(progress);
  }
  return {
    concurrency: opts.concurrency,
    durationMs: opts.durationMs,
    ok,
    failed,
    errors,
    okPerSecond: Math.round((ok * 1000) / opts.durationMs),
    latency: histogram.summary(),
  };
}
