import { claimJobsToPoll } from '@tollgate/db/ledger';
import type { AppDeps } from '../deps.ts';
import { failpoint } from '../failpoints.ts';
import { SYSTEM_ACTOR } from '../services/context.ts';
import { syncJobWithUpstream } from '../services/lifecycle.ts';
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
      await forEachBounded(due, opts.concurrency, async (job) => {
        if (!job.upstreamJobId) return; // unknown outcome without an upstream id: the resolver's job
        try {
          await syncJobWithUpstream(
            { deps, requestId: `poll_${job.id}`, log: log.child({ jobId: job.id }) },
            job,
            {
              actor: SYSTEM_ACTOR.poller,
            },
          );
        } catch (err) {
          log.error({ err, jobId: job.id }, 'poll failed');
        }
      });
      return due.length;
    },
    { batchSize: opts.batchSize },
  );
}
