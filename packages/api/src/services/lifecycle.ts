import type { Job } from '@tollgate/db';
import { advanceJob } from '@tollgate/db/ledger';
import type { UpstreamJob } from '@tollgate/pixelbyte';
import { upstreamFor } from '../sandbox.ts';
import type { ServiceCtx } from './context.ts';

export type SyncResult = { job: Job; changed: boolean; upstream: UpstreamJob | null };

/**
 * Reads a job back from Pixelbyte (the truth — webhook bodies are only triggers) and moves our job
 * forward. Every ledger call here is idempotent and never moves a job backwards, so duplicates,
 * reordering, and races between webhook, poller and the submit response are all harmless.
 *
 * A job still `submitting`/`unknown` has no stored upstream id; `upstreamJobIdHint` (the id named by
 * an authenticated webhook) lets us find it. Capturing it then charges the tenant the quote: the job
 * exists upstream, so the operator was charged too. Pixelbyte's actual charge is not on the status
 * endpoint, so the upstream cost stays unknown (null) in that case.
 */
export async function syncJobWithUpstream(
  ctx: ServiceCtx,
  job: Job,
  opts: { actor: string; upstreamJobIdHint?: string | undefined },
): Promise<SyncResult> {
  const read = await readUpstreamJob(ctx, job, opts);
  if (!read) return { job, changed: false, upstream: null };
  return applyUpstreamJob(ctx, job, read, opts);
}

/** What `readUpstreamJob` found: the upstream id it read (stored, or the hint) and the job there. */
export type UpstreamRead = { upstreamJobId: string; upstream: UpstreamJob };

/**
 * The first half of `syncJobWithUpstream`: the job as Pixelbyte reports it (no database work), or
 * null when there is no upstream id to read or the read failed (logged; the job is left as it is).
 */
export async function readUpstreamJob(
  ctx: ServiceCtx,
  job: Job,
  opts: { upstreamJobIdHint?: string | undefined },
): Promise<UpstreamRead | null> {
  const { deps } = ctx;
  const upstreamJobId = job.upstreamJobId ?? opts.upstreamJobIdHint;
  if (!upstreamJobId) return null;

  const started = performance.now();
  const res = await (await upstreamFor(deps, job.tenantId)).getJob(upstreamJobId);
  deps.metrics.upstreamDuration.observe({ operation: 'get' }, (performance.now() - started) / 1000);
  deps.metrics.upstreamCalls.inc({
    operation: 'get',
    outcome: res.ok ? 'ok' : res.error.outcome,
    code: res.ok ? 'OK' : res.error.code,
  });
  if (res.ok) return { upstreamJobId, upstream: res.value };
  ctx.log.warn({ jobId: job.id, upstreamJobId, code: res.error.code }, 'could not read job from Pixelbyte');
  return null;
}

/** The second half of `syncJobWithUpstream`: moves our job forward to what `readUpstreamJob` returned. */
export async function applyUpstreamJob(
  ctx: ServiceCtx,
  job: Job,
  { upstreamJobId, upstream }: UpstreamRead,
  opts: { actor: string },
): Promise<SyncResult> {
  const { deps } = ctx;
  // Upstream reports the status `job` already had: nothing to do, and no transaction to take (most
  // polls of a running job). Jobs never move backwards, so the row holds that status or a later one,
  // and advanceJob would lock it only to change nothing. (submitting/unknown never match: they are
  // not upstream statuses.)
  if (upstream.status === job.status) return { job, changed: false, upstream };
  // A job still submitting/unknown is captured inside advanceJob (same transaction) with the upstream
  // id; its upstream cost stays unknown (null) since the status endpoint does not report it.
  const advanced = await advanceJob(deps.db, {
    jobId: job.id,
    upstreamJobId,
    actor: opts.actor,
    upstream: {
      status: upstream.status,
      output: upstream.output,
      outputs: upstream.outputs,
      error: upstream.error,
      completedAt: upstream.completedAt ? new Date(upstream.completedAt) : null,
    },
  });
  if (advanced.changed) {
    // From what advanceJob did, not from `job`: another path may have captured it since it was read.
    deps.metrics.recordMoneyMovement({ op: 'advanceJob', result: advanced });
    deps.metrics.jobTransitions.inc({ to: advanced.job.status });
    ctx.log.info(
      { jobId: job.id, from: job.status, to: advanced.job.status, actor: opts.actor },
      'job advanced',
    );
  }
  return { job: advanced.job, changed: advanced.changed, upstream };
}
