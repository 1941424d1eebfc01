import { jobs } from '@tollgate/db';
import { expireUnknownJob, markJobUnknown } from '@tollgate/db/ledger';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.ts';
import { createLoop, type Worker } from './run-loop.ts';

/**
 * Resolves money whose upstream outcome nobody can tell us. An `unknown` job (timeout or lost answer
 * at submit) keeps its hold so that a late webhook can still capture it; past UNKNOWN_JOB_GRACE the
 * hold is released (the tenant is not charged) and the job is flagged `needs_review` for finance,
 * since Pixelbyte may have charged the operator. A job stuck in `submitting` (the gateway died
 * mid-submit) is first turned `unknown` after `staleSubmittingMs`, then follows the same path.
 * Deadlines are decided by the database clock.
 */
export function createUnknownResolver(
  deps: AppDeps,
  opts: { intervalMs: number; graceMs: number; staleSubmittingMs?: number; batchSize?: number },
): Worker {
  const log = deps.log.child({ worker: 'unknown-resolver' });
  const graceSeconds = Math.ceil(opts.graceMs / 1000);
  const staleSeconds = Math.ceil((opts.staleSubmittingMs ?? 10 * 60_000) / 1000);
  const limit = opts.batchSize ?? 100;
  return createLoop('unknown-resolver', opts.intervalMs, log, async () => {
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
        deps.metrics.money('released', r.job.costMicroCents);
        deps.metrics.jobTransitions.inc({ to: 'rejected' });
        log.warn({ jobId: j.id }, 'unknown job expired: hold released, flagged for review');
      }
    }
    return stale.length + count;
  });
}
