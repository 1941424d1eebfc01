// Capture: a hold is charged (held → revenue) when upstream accepted its job. One implementation in
// SQL, `tollgate_capture_hold`: `captureJob` is the job step (`tollgate_capture_job`, grouped, which
// calls it); `captureInTx` calls it for admin resolve and the bare-hold capture.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import type { Job } from '../schema';
import { groupedJobStep } from './group-commit';
import { type CaptureResult, existingByKey, type ResolveOptions, readHold } from './hold-resolution';
import { type Executor, fingerprintOf, preparedRows, rows, type Tx } from './internal';
import { jobFromRow, lockJob, saveJob } from './job-row';

/**
 * Capture of a hold within an open transaction: `tollgate_capture_hold`, the one implementation of a
 * capture (submit's `tollgate_capture_job` calls it too). `amount` undefined = the whole hold (two
 * ledger lines); less than the hold = the rest is released in the same transaction (a third line).
 * Used by admin resolve and the bare-hold `capture`; replays and refusals are read here.
 */
export async function captureInTx(
  tx: Tx,
  holdId: string,
  amount: bigint | undefined,
  opts: ResolveOptions,
): Promise<CaptureResult> {
  if (amount !== undefined && (typeof amount !== 'bigint' || amount < 0n))
    return { ok: false, reason: 'INVALID_AMOUNT' };
  const transactionId = newId('txn');
  const [h] = await rows<{ captured_micro_cents: bigint; released_micro_cents: bigint }>(
    tx,
    sql`SELECT captured_micro_cents, released_micro_cents FROM tollgate_capture_hold(
      ${holdId}, ${amount ?? null}::bigint, ${transactionId}, ${opts.reason ?? null}, ${opts.actor})`,
  );
  if (h) {
    return {
      ok: true,
      transactionId,
      replayed: false,
      capturedMicroCents: h.captured_micro_cents,
      releasedMicroCents: h.released_micro_cents,
    };
  }
  const state = await readHold(tx, holdId);
  if (!state) return { ok: false, reason: 'HOLD_NOT_FOUND' };
  if (state.status === 'released') return { ok: false, reason: 'HOLD_ALREADY_RESOLVED', status: 'released' };
  if (state.status === 'open') return { ok: false, reason: 'INVALID_AMOUNT' };
  const existing = await existingByKey(tx, `capture:${holdId}`);
  const requested = await fingerprintOf(tx, 'capture', holdId, amount ?? state.amount_micro_cents);
  if (!existing || existing.fp !== requested) return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
  const captured = state.captured_micro_cents ?? 0n;
  return {
    ok: true,
    transactionId: existing.id,
    replayed: true,
    capturedMicroCents: captured,
    releasedMicroCents: state.amount_micro_cents - captured,
  };
}

/** The arguments of `tollgate_capture_job` (amounts as exact decimal strings, times as ISO). */
interface CaptureEntry {
  jobId: string;
  txnId: string;
  upstreamJobId: string | null;
  upstreamCost: string | null;
  estimatedCompletionTime: string | null;
  actor: string | null;
}

function captureEntry(
  jobId: string,
  upstream: {
    upstreamJobId: string | null;
    upstreamCostMicroCents: bigint | null;
    estimatedCompletionTime: Date | null;
  },
  actor: string | undefined,
): CaptureEntry {
  return {
    jobId,
    txnId: newId('txn'),
    upstreamJobId: upstream.upstreamJobId,
    upstreamCost: upstream.upstreamCostMicroCents?.toString() ?? null,
    estimatedCompletionTime: upstream.estimatedCompletionTime?.toISOString() ?? null,
    actor: actor ?? null,
  };
}

/**
 * Captures a `submitting`/`unknown` job's hold and moves it to `pending` (`tollgate_capture_job`,
 * migration 0006: one statement). Undefined when the job is in any other state (nothing changed).
 * Runs on its own (autocommit) or inside a caller's transaction that already locked the job.
 */
async function captureAlone(ex: Executor, e: CaptureEntry): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    ex,
    sql`SELECT * FROM tollgate_capture_job(${e.jobId}, ${e.txnId}, ${e.upstreamJobId},
      ${e.upstreamCost}::bigint, ${e.estimatedCompletionTime}::timestamptz, ${e.actor})`,
  );
  return row ? jobFromRow(row) : undefined;
}

export async function captureAccepted(
  ex: Executor,
  jobId: string,
  upstream: Parameters<typeof captureEntry>[1],
  actor: string | undefined,
): Promise<Job | undefined> {
  return captureAlone(ex, captureEntry(jobId, upstream, actor));
}

/** Captures outside a transaction, grouped with concurrent ones. */
const captureGrouped = groupedJobStep(captureAlone, 'tollgate_capture_jobs');

export interface CaptureJobInput {
  jobId: string;
  upstreamJobId: string;
  /**
   * What Pixelbyte says it charged; compared with the list price (cost_mismatch). null = not known
   * (e.g. the id came from a webhook: the status endpoint does not report the cost).
   */
  upstreamCostMicroCents: bigint | null;
  estimatedCompletionTime: Date | null;
  actor?: string;
}

/**
 * Upstream accepted the job: capture the hold (the tenant is charged the quote), store the upstream
 * id and cost, job → `pending`. Idempotent. If the job was already released (`rejected`, e.g. its
 * unknown outcome expired), the tenant is NOT charged after the fact: the job is flagged
 * `needs_review` for finance instead. A second, different upstream id is flagged the same way.
 * `captured` says whether this call captured the hold (false on a replay, for a job another path
 * captured or released first, and for an upstream id that is another job's: the job comes back `unknown`).
 */
export async function captureJob(
  db: Db,
  input: CaptureJobInput,
): Promise<{ ok: true; job: Job; captured: boolean }> {
  const upstream = {
    upstreamJobId: input.upstreamJobId,
    upstreamCostMicroCents: input.upstreamCostMicroCents,
    estimatedCompletionTime: input.estimatedCompletionTime,
  };
  // The usual case (the job is still `submitting`): one statement, no transaction round trips.
  const captured = await captureGrouped(db, captureEntry(input.jobId, upstream, input.actor));
  if (captured) return { ok: true, job: captured, captured: captured.status !== 'unknown' };
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    switch (job.status) {
      case 'submitting':
      case 'unknown': {
        // Not reached in practice (no state goes back to these), kept so every state is handled.
        const again = await captureAccepted(tx, job.id, upstream, input.actor);
        if (!again) throw new Error(`bug: job ${job.id} (${job.status}) not capturable`);
        return { ok: true as const, job: again, captured: again.status !== 'unknown' };
      }
      case 'rejected':
        return {
          ok: true as const,
          job: await saveJob(tx, job.id, {
            needsReview: true,
            ...(await linkUpstreamJobId(tx, job, input.upstreamJobId)),
            upstreamCostMicroCents: job.upstreamCostMicroCents ?? input.upstreamCostMicroCents,
          }),
          captured: false,
        };
      case 'pending':
      case 'processing':
      case 'completed':
      case 'failed':
      case 'cancelled':
        if (job.upstreamJobId !== null && job.upstreamJobId !== input.upstreamJobId) {
          return {
            ok: true as const,
            job: await saveJob(tx, job.id, { needsReview: true }),
            captured: false,
          };
        }
        // A webhook/poller captured first (cost unknown: the status endpoint does not report it);
        // the submit's answer brings Pixelbyte's charge: keep it for finance (no money moves).
        if (job.upstreamCostMicroCents === null && input.upstreamCostMicroCents !== null) {
          const upstreamCost = input.upstreamCostMicroCents;
          return {
            ok: true as const,
            job: await saveJob(tx, job.id, {
              upstreamJobId: job.upstreamJobId ?? input.upstreamJobId,
              upstreamCostMicroCents: upstreamCost,
              costMismatch: upstreamCost !== job.listCostMicroCents,
            }),
            captured: false,
          };
        }
        return { ok: true as const, job, captured: false };
      default: {
        const never: never = job.status;
        throw new Error(`unhandled job status ${String(never)}`);
      }
    }
  });
}

/**
 * The fields that link `job` to `upstreamJobId`, for a job that has none yet: the id itself when no
 * other job holds it, else (one upstream job named for two of ours) the id kept aside as
 * `collidedUpstreamJobId` and the job flagged needs_review. Serialised per upstream id by
 * `tollgate_upstream_job_id_free` (migration 0014), the check the capture function makes too.
 */
export async function linkUpstreamJobId(
  tx: Tx,
  job: Job,
  upstreamJobId: string | undefined,
): Promise<
  { upstreamJobId: string } | { collidedUpstreamJobId: string; needsReview: true } | Record<string, never>
> {
  if (job.upstreamJobId !== null || upstreamJobId === undefined) return {};
  const [row] = await rows<{ free: boolean }>(
    tx,
    sql`SELECT tollgate_upstream_job_id_free(${job.id}, ${upstreamJobId}) AS free`,
  );
  return row?.free ? { upstreamJobId } : { collidedUpstreamJobId: upstreamJobId, needsReview: true };
}
