import { claimJobsToPoll } from '@tollgate/db/ledger';
import type { AppDeps } from '../deps.ts';
import { failpoint } from '../failpoints.ts';
import { SYSTEM_ACTOR } from '../services/context.ts';
import { applyUpstreamJob, readUpstreamJob } from '../services/lifecycle.ts';
import { createLoop, forEachBounded, type Worker } from './run-loop.ts';

/**
 * Polls Pixelbyte for non-terminal jobs (the backstop for lost webhooks, and the only path when no
 * PUBLIC_BASE_URL is configured). `claimJobsToPoll` takes rows with `FOR UPDATE SKIP LOCKED` and
 * bumps their `next_poll_at` with backoff, so several gateway instances share the work without
 * polling a job twice. Upstream calls run with bounded concurrency, outside any transaction. A full
 * batch is followed at once by the next pass (without webhooks, one batch per POLL_INTERVAL capped
 * completions at 12.5 jobs/s per instance, far below what the gateway accepts), and the defaults
 * (32 in flight, 100 a batch) let completions keep up with what one instance accepts (env.ts).
 */
export function createPoller(
  deps: AppDeps,
  opts: { intervalMs: number; concurrency: number; batchSize: number },
): Worker {
  const log = deps.log.child({ worker: 'poller' });
  return createLoop(
    'poller',
    opts.intervalMs,
    log,
    async () => {
      const due = await claimJobsToPoll(deps.db, { limit: opts.batchSize });
      if (due.length > 0) failpoint('in-poller');
      // Reads go out `concurrency` at a time; each job's ledger update starts as soon as its read is
      // back and does not hold a read lane while it waits. The updates of a pass thus reach the
      // ledger's group commit together (one statement for up to a batch of completions) instead of
      // at most `concurrency` per group: for a hot tenant, whose completion groups queue behind its
      // opens and captures on the balance row, that cap left completions behind the submit rate
      // (bench/HISTORY.md, "Hot tenant"). At most a batch of updates is in flight.
      const updates: Promise<void>[] = [];
      await forEachBounded(due, opts.concurrency, async (job) => {
        if (!job.upstreamJobId) return; // unknown outcome without an upstream id: the resolver's job
        const ctx = { deps, requestId: `poll_${job.id}`, log: log.child({ jobId: job.id }) };
        const failed = (err: unknown) => log.error({ err, jobId: job.id }, 'poll failed');
        try {
          const read = await readUpstreamJob(ctx, job, {});
          if (!read) return;
          updates.push(
            applyUpstreamJob(ctx, job, read, { actor: SYSTEM_ACTOR.poller }).then(() => undefined, failed),
          );
        } catch (err) {
          failed(err);
        }
      });
      await Promise.all(updates);
      return due.length;
    },
    { batchSize: opts.batchSize, dbBreaker: deps.dbBreaker },
  );
}
