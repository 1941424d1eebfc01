// Baseline (b): the hold `jobs.submit` runs in the ledger (`openJob` in packages/db/src/ledger/open.ts),
// sent as raw SQL and looped from postgres.js: the same ONE statement, `tollgate_open_job` (migration
// 0006: the conditional balance UPDATE with limits, the job row, the hold row, the ledger transaction
// and its two lines; COMMIT runs the deferred double-entry triggers), with the same arguments. No
// HTTP, no tRPC, no ORM: the database's ceiling for our accounting. (A refusal returns no row; openJob
// then reads why, which the bench never hits: its tenants are credited far more than a run can spend.)
// KEEP IN SYNC with openJob when the ledger's SQL changes (hold-sql.test.ts compares the two).
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
  // postgres.js parameters are typed without bigint here: send exact decimal text, cast in SQL.
  const amount = `${h.amountMicroCents}`;
  const opened = await sql`
    SELECT id FROM tollgate_open_job(
      ${jobId}, ${holdId}, ${benchId('txn')}, ${h.tenantId}, ${h.model}, ${JSON.stringify(h.input)}::jsonb,
      ${amount}::bigint, ${amount}::bigint, 'bench', ARRAY(SELECT jsonb_array_elements_text('[]'::jsonb)),
      NULL, NULL, ${`bench:${jobId}`}, 3600::int, ${`tenant:${h.tenantId}`})`;
  return opened.length === 1;
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
