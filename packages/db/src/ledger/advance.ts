// Advance: a job moves forward to what upstream reports (never backwards): unknown outcomes, the
// cancel answer, completion (`tollgate_complete_job`, grouped), failure and cancellation (refund).
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { type Job, type JobStatus, jobs } from '../schema';
import { captureAccepted, linkUpstreamJobId } from './capture';
import { groupedJobStep } from './group-commit';
import { type Executor, jsonSafe, preparedRows } from './internal';
import {
  freeJobSlot,
  isTerminal,
  type JobError,
  jobActor,
  jobFromRow,
  lockJob,
  lockJobIfAny,
  saveJob,
} from './job-row';
import { refundInTx } from './settle';

/**
 * Upstream outcome unknown (timeout after sending): job `submitting` → `unknown`, the hold is kept.
 *
 * `upstreamJobId`: the upstream id when we do know it (a garbled 2xx that still named the job, or an
 * accept whose capture could not be stored). It is stored and the job made due for a poll at once:
 * the job exists upstream (the operator pays for it), so the poller must resolve it — capture, then
 * follow it — instead of the hold being released after UNKNOWN_JOB_GRACE for free. An id given for a
 * job already `unknown` without one is stored too (same reason); an existing id is never replaced.
 */
export async function markJobUnknown(
  db: Db,
  input: {
    jobId: string;
    error: JobError;
    upstreamJobId?: string;
    /** What Pixelbyte said it charged, when its answer named the job: kept for the later capture. */
    upstreamCostMicroCents?: bigint;
  },
): Promise<{ ok: true; job: Job }> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    const learnsId =
      input.upstreamJobId !== undefined &&
      job.upstreamJobId === null &&
      (job.status === 'submitting' || job.status === 'unknown');
    const link = learnsId ? await linkUpstreamJobId(tx, job, input.upstreamJobId) : {};
    // An id another job holds is not stored (kept as collided_upstream_job_id, flagged): nothing to poll.
    const idFields =
      learnsId && 'upstreamJobId' in link
        ? {
            ...link,
            nextPollAt: sql`now()`,
            ...(input.upstreamCostMicroCents === undefined
              ? {}
              : { upstreamCostMicroCents: input.upstreamCostMicroCents }),
          }
        : link;
    if (job.status === 'unknown' && learnsId)
      return { ok: true as const, job: await saveJob(tx, job.id, idFields) };
    if (job.status !== 'submitting') return { ok: true as const, job };
    return {
      ok: true as const,
      job: await saveJob(tx, job.id, { status: 'unknown', error: jsonSafe(input.error), ...idFields }),
    };
  });
}

/**
 * Records that Pixelbyte answered our cancel of a job in progress with `cancelled` (the first such
 * answer wins). No money moves on that answer: the job is refunded only when a read of the job
 * shows it cancelled (or failed); should it complete instead, tollgate_complete_job (migration 0014)
 * and advanceJob flag it needs_review. Returns the job, changed or not.
 */
export async function recordCancelAnswered(db: Db, jobId: string): Promise<Job | undefined> {
  return db.transaction(async (tx) => {
    const job = await lockJobIfAny(tx, jobId);
    if (job?.status !== 'pending' && job?.status !== 'processing') return undefined;
    return saveJob(tx, jobId, { cancelAnsweredAt: sql`coalesce(${jobs.cancelAnsweredAt}, now())` });
  });
}

/**
 * Flags an `unknown` job that has no upstream id yet as `needs_review` (an authentic webhook proved
 * Pixelbyte holds a job for it, but did not say which). No money moves, and `updated_at` is left as
 * it is so the unknown job's grace period is not restarted. Any other job is left unchanged.
 */
export async function flagUnknownJobForReview(db: Db, jobId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const job = await lockJobIfAny(tx, jobId);
    if (job?.status !== 'unknown' || job.upstreamJobId !== null) return;
    await tx.update(jobs).set({ needsReview: true }).where(eq(jobs.id, jobId));
  });
}

export interface UpstreamJobState {
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  output: string | null;
  outputs: unknown;
  error: JobError | null;
  completedAt: Date | null;
}

export interface AdvanceJobInput {
  jobId: string;
  upstream: UpstreamJobState;
  /** Used when the job is still submitting/unknown (the upstream id learnt from a webhook). */
  upstreamJobId?: string;
  actor?: string;
}

/** The arguments of `tollgate_complete_job` (outputs as JSON-safe data, times as ISO). */
interface CompleteEntry {
  jobId: string;
  output: string | null;
  outputs: unknown;
  completedAt: string | null;
}

function completeEntry(jobId: string, upstream: UpstreamJobState): CompleteEntry {
  return {
    jobId,
    output: upstream.output,
    outputs: upstream.outputs == null ? null : jsonSafe(upstream.outputs),
    completedAt: upstream.completedAt?.toISOString() ?? null,
  };
}

/**
 * `pending`/`processing` → `completed` with the output, concurrency slot freed (`tollgate_complete_job`,
 * migration 0006: one statement). Undefined when the job is in any other state (nothing changed).
 */
async function completeAlone(ex: Executor, e: CompleteEntry): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    ex,
    sql`SELECT * FROM tollgate_complete_job(${e.jobId}, ${e.output},
      ${e.outputs === null ? null : JSON.stringify(e.outputs)}::jsonb, ${e.completedAt}::timestamptz)`,
  );
  return row ? jobFromRow(row) : undefined;
}

/** Completions outside a transaction, grouped with concurrent ones. */
const completeGrouped = groupedJobStep(completeAlone, 'tollgate_complete_jobs');

const RANK: Record<JobStatus, number> = {
  submitting: 0,
  unknown: 0,
  pending: 1,
  processing: 2,
  completed: 3,
  failed: 3,
  cancelled: 3,
  rejected: 3,
};

/**
 * Moves a job forward to what upstream reports; never backwards, idempotent. A job still
 * submitting/unknown is captured first (it exists upstream). `failed` / `cancelled` refund the
 * charge once (job.refundedMicroCents). A job already terminal is returned unchanged. `captured`
 * says whether this call captured the hold (a caller's snapshot of the job may be stale: another
 * path may have captured it meanwhile).
 */
export async function advanceJob(
  db: Db,
  input: AdvanceJobInput,
): Promise<{ ok: true; job: Job; changed: boolean; captured: boolean }> {
  // The usual case (a `pending`/`processing` job completed upstream): one statement.
  if (input.upstream.status === 'completed') {
    const completed = await completeGrouped(db, completeEntry(input.jobId, input.upstream));
    if (completed) return { ok: true, job: completed, changed: true, captured: false };
  }
  return db.transaction(async (tx) => {
    let job = await lockJob(tx, input.jobId);
    if (isTerminal(job.status)) return { ok: true as const, job, changed: false, captured: false };
    let captured = false;
    if (job.status === 'submitting' || job.status === 'unknown') {
      const capturedJob = await captureAccepted(
        tx,
        job.id,
        {
          upstreamJobId: input.upstreamJobId ?? job.upstreamJobId,
          // Known when the submit's answer was stored with the id (markJobUnknown); else null.
          upstreamCostMicroCents: job.upstreamCostMicroCents,
          estimatedCompletionTime: job.estimatedCompletionTime,
        },
        input.actor,
      );
      if (!capturedJob) throw new Error(`bug: locked job ${job.id} (${job.status}) not capturable`);
      // The upstream id is another job's (one upstream job, two of ours): not captured, left
      // `unknown` and flagged by the capture; its outcome is resolved like any unknown one.
      if (capturedJob.status === 'unknown')
        return { ok: true as const, job: capturedJob, changed: true, captured: false };
      job = capturedJob;
      captured = true;
    }
    const target = input.upstream.status;
    // Nothing more to move: changed only if the capture above did something.
    if (RANK[target] <= RANK[job.status]) return { ok: true as const, job, changed: captured, captured };

    switch (target) {
      case 'pending':
      case 'processing':
        job = await saveJob(tx, job.id, { status: target });
        break;
      case 'completed': {
        const completed = await completeAlone(tx, completeEntry(job.id, input.upstream));
        if (!completed) throw new Error(`bug: locked job ${job.id} (${job.status}) not completable`);
        job = completed;
        break;
      }
      case 'failed':
      case 'cancelled': {
        const refunded = await refundInTx(tx, job.holdId, {
          actor: jobActor(job, input.actor),
          reason: `upstream ${target}`,
        });
        if (!refunded.ok) throw new Error(`bug: job ${job.id} charge not refundable: ${refunded.reason}`);
        await freeJobSlot(tx, job.tenantId);
        job = await saveJob(tx, job.id, {
          status: target,
          // Pixelbyte answered our cancel `cancelled`, and the job failed instead: the refund follows
          // the failure (Pixelbyte refunds failed jobs), the disagreement goes to finance.
          needsReview: job.needsReview || (target !== 'cancelled' && job.cancelAnsweredAt !== null),
          refundedMicroCents: refunded.refundedMicroCents,
          error: input.upstream.error ? jsonSafe(input.upstream.error) : null,
          completedAt: input.upstream.completedAt ?? sql`now()`,
          nextPollAt: null,
        });
        break;
      }
      default: {
        const never: never = target;
        throw new Error(`unhandled upstream status ${String(never)}`);
      }
    }
    return { ok: true as const, job, changed: true, captured };
  });
}
