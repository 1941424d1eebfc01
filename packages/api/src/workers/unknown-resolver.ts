import { jobs } from '@tollgate/db';
import {
  claimOverdueJobs,
  expireOverdueJob,
  expireUnknownJob,
  isTerminal,
  markJobUnknown,
} from '@tollgate/db/ledger';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.ts';
import { isDatabaseUnavailable } from '../errors.ts';
import { SYSTEM_ACTOR } from '../services/context.ts';
import { syncJobWithUpstream } from '../services/lifecycle.ts';
import { createLoop, type Worker } from './run-loop.ts';

/**
 * Resolves money whose upstream outcome nobody can tell us. An `unknown` job (timeout or lost answer
 * at submit) keeps its hold so that a late webhook can still capture it; past UNKNOWN_JOB_GRACE the
 * hold is released (the tenant is not charged) and the job is flagged `needs_review` for finance,
 * since Pixelbyte may have charged the operator. A job stuck in `submitting` (the gateway died
 * mid-submit) is first turned `unknown` after `staleSubmittingMs`, then follows the same path.
 * Deadlines are decided by the database clock.
 *
 * Invariant 5: a `pending`/`processing` job past its `deadline_at` is read upstream once (outside
 * any transaction): a terminal answer is applied as usual (advanceJob); otherwise — still running,
 * or unreadable (e.g. 404 forever) — the job ends `failed` / DEADLINE_EXCEEDED, the tenant's charge
 * is refunded once and the job flagged `needs_review` (expireOverdueJob).
 */
/**
 * How long past its deadline a job whose upstream read keeps failing is still given (one read a pass,
 * a pass every ≤ 1 min) before it is ended unread: a transient failure must not refund a job that
 * completed, nor lose its output.
 */
export const DEADLINE_READ_GRACE_SECONDS = 300;

export function createUnknownResolver(
  deps: AppDeps,
  opts: { intervalMs: number; graceMs: number; staleSubmittingMs?: number; batchSize?: number },
): Worker {
  const log = deps.log.child({ worker: 'unknown-resolver' });
  const graceSeconds = Math.ceil(opts.graceMs / 1000);
  const staleSeconds = Math.ceil((opts.staleSubmittingMs ?? 10 * 60_000) / 1000);
  const limit = opts.batchSize ?? 100;
  return createLoop(
    'unknown-resolver',
    opts.intervalMs,
    log,
    async () => {
      const stale = await deps.db
        .select({ id: jobs.id })
        .from(jobs)
        .where(
          and(
            eq(jobs.status, 'submitting'),
            lt(jobs.createdAt, sql`now() - make_interval(secs => ${staleSeconds})`),
          ),
        )
        .limit(limit);
      for (const j of stale) {
        await markJobUnknown(deps.db, {
          jobId: j.id,
          error: {
            code: 'SUBMIT_INTERRUPTED',
            message: 'the gateway stopped before recording the upstream answer',
          },
        });
        log.warn({ jobId: j.id }, 'stale submitting job marked unknown');
      }
      const expired = await deps.db
        .select({ id: jobs.id })
        .from(jobs)
        .where(
          and(
            eq(jobs.status, 'unknown'),
            lt(jobs.updatedAt, sql`now() - make_interval(secs => ${graceSeconds})`),
          ),
        )
        .limit(limit);
      let count = 0;
      for (const j of expired) {
        const r = await expireUnknownJob(deps.db, { jobId: j.id, graceSeconds });
        if (r.ok && r.job.status === 'rejected') {
          count++;
          deps.metrics.recordMoneyMovement({ op: 'expireUnknownJob', result: r });
          deps.metrics.jobTransitions.inc({ to: 'rejected' });
          log.warn({ jobId: j.id }, 'unknown job expired: hold released, flagged for review');
        }
      }
      const overdue = await claimOverdueJobs(deps.db, { limit });
      for (const job of overdue) {
        const ctx = { deps, requestId: `deadline_${job.id}`, log: log.child({ jobId: job.id }) };
        try {
          const synced = await syncJobWithUpstream(ctx, job, { actor: SYSTEM_ACTOR.unknownResolver });
          if (isTerminal(synced.job.status)) continue;
          // A read that failed (a 429, a timeout) says nothing about the job: it may have completed.
          // Give such reads DEADLINE_READ_GRACE_SECONDS of passes before ending the job unread.
          const r = await expireOverdueJob(deps.db, {
            jobId: job.id,
            actor: SYSTEM_ACTOR.unknownResolver,
            ...(synced.upstream === null ? { minOverdueSeconds: DEADLINE_READ_GRACE_SECONDS } : {}),
          });
          if (r.ok && r.expired) {
            deps.metrics.recordMoneyMovement({ op: 'expireOverdueJob', result: r });
            deps.metrics.jobTransitions.inc({ to: 'failed' });
            log.warn({ jobId: job.id }, 'job past its deadline: refunded, failed, flagged for review');
          }
        } catch (err) {
          // The database is down: end the pass (the loop backs off). Anything else is this job's: the
          // others claimed with it are still handled; it is claimed again after OVERDUE_CLAIM_SECONDS.
          if (isDatabaseUnavailable(err)) throw err;
          log.error({ err, jobId: job.id }, 'could not end an overdue job; retried on a later pass');
        }
      }
      return stale.length + count + overdue.length;
    },
    { dbBreaker: deps.dbBreaker },
  );
}
