// Admin settlement of a stuck or `unknown` job by decision. Money, job state and the audit row
// change in one transaction (job row locked first, then hold, then balance: the fixed lock order).
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { type Job, type JobStatus, jobs } from '../schema';
import { captureInTx } from './capture';
import { inTransaction, jsonSafe, type Tx, writeAudit } from './internal';
import { ENDED_BY_TOLLGATE, freeJobSlot } from './job-row';
import { refundInTx, releaseInTx } from './settle';

export interface ResolveJobInput {
  jobId: string;
  /**
   * `charge`: the tenant pays the quote (an open hold is captured) and the job ends `completed`.
   * `refund`: the tenant pays nothing (an open hold is released → `rejected`; a captured charge is
   * refunded once → `failed`).
   */
  decision: 'charge' | 'refund';
  /** Why (stored on the job error / ledger reason and in the audit row). */
  reason: string;
  actor: string;
  requestId?: string;
}

export type ResolveJobResult =
  | { ok: true; job: Job; before: JobStatus }
  | { ok: false; reason: 'JOB_NOT_FOUND' }
  | { ok: false; reason: 'JOB_ALREADY_SETTLED'; status: JobStatus };

async function finish(tx: Tx, job: Job, set: Partial<typeof jobs.$inferInsert>): Promise<Job> {
  // The job leaves the non-terminal set: free its concurrency slot exactly once (under the job lock).
  await freeJobSlot(tx, job.tenantId);
  const [saved] = await tx
    .update(jobs)
    .set({ ...set, nextPollAt: null, completedAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(jobs.id, job.id))
    .returning();
  if (!saved) throw new Error(`bug: locked job ${job.id} vanished`);
  return saved;
}

/**
 * Settles a non-terminal job (`submitting`, `unknown`, `pending`, `processing`) by an admin's
 * decision, with one `job.resolve` audit row in the same transaction. A terminal job is refused
 * (`JOB_ALREADY_SETTLED`): its money already moved and is never moved twice.
 */
export async function resolveJob(db: Db, input: ResolveJobInput): Promise<ResolveJobResult> {
  return inTransaction<ResolveJobResult>(db, async (tx, refuse) => {
    const [job] = await tx.select().from(jobs).where(eq(jobs.id, input.jobId)).for('update');
    if (!job) return refuse({ ok: false, reason: 'JOB_NOT_FOUND' });
    const opts = { actor: input.actor, reason: `admin: ${input.reason}` };
    const error = { code: 'RESOLVED_BY_ADMIN', message: input.reason, ...ENDED_BY_TOLLGATE };
    let saved: Job;
    switch (job.status) {
      case 'completed':
      case 'failed':
      case 'cancelled':
      case 'rejected':
        return refuse({ ok: false, reason: 'JOB_ALREADY_SETTLED', status: job.status });
      case 'submitting':
      case 'unknown': {
        if (input.decision === 'charge') {
          const r = await captureInTx(tx, job.holdId, undefined, opts);
          if (!r.ok) throw new Error(`bug: job ${job.id} hold not capturable: ${r.reason}`);
          saved = await finish(tx, job, { status: 'completed', error: null });
        } else {
          const r = await releaseInTx(tx, job.holdId, opts);
          if (!r.ok) throw new Error(`bug: job ${job.id} hold not releasable: ${r.reason}`);
          saved = await finish(tx, job, { status: 'rejected', error: jsonSafe(error) });
        }
        break;
      }
      case 'pending':
      case 'processing': {
        if (input.decision === 'charge') {
          saved = await finish(tx, job, { status: 'completed' });
        } else {
          const r = await refundInTx(tx, job.holdId, opts);
          if (!r.ok) throw new Error(`bug: job ${job.id} charge not refundable: ${r.reason}`);
          saved = await finish(tx, job, {
            status: 'failed',
            refundedMicroCents: r.refundedMicroCents,
            error: jsonSafe(error),
          });
        }
        break;
      }
      default: {
        const never: never = job.status;
        throw new Error(`unhandled job status ${String(never)}`);
      }
    }
    await writeAudit(tx, {
      actor: input.actor,
      action: 'job.resolve',
      targetType: 'job',
      targetId: job.id,
      before: {
        status: job.status,
        costMicroCents: job.costMicroCents,
        refundedMicroCents: job.refundedMicroCents,
      },
      after: {
        status: saved.status,
        decision: input.decision,
        reason: input.reason,
        refundedMicroCents: saved.refundedMicroCents,
      },
      requestId: input.requestId,
    });
    return { ok: true, job: saved, before: job.status };
  });
}
