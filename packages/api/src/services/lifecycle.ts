import type { Job } from '@tollgate/db';
import { advanceJob } from '@tollgate/db/ledger';
import type { UpstreamJob, UpstreamJobStatus } from '@tollgate/pixelbyte';
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
  opts: { actor: string; upstreamJobIdHint?: string | undefined; assumeStatus?: UpstreamJobStatus },
): Promise<SyncResult> {
  const { deps } = ctx;
  const upstreamJobId = job.upstreamJobId ?? opts.upstreamJobIdHint;
  if (!upstreamJobId) return { job, changed: false, upstream: null };

  const started = performance.now();
  const res = await deps.pixelbyte.getJob(upstreamJobId);
  deps.metrics.upstreamDuration.observe({ operation: 'get' }, (performance.now() - started) / 1000);
  deps.metrics.upstreamCalls.inc({
    operation: 'get',
    outcome: res.ok ? 'ok' : res.error.outcome,
    code: res.ok ? 'OK' : res.error.code,
  });
  let upstream: UpstreamJob | null = null;
  if (res.ok) upstream = res.value;
  else if (opts.assumeStatus) {
    upstream = {
      jobId: upstreamJobId,
      status: opts.assumeStatus,
      progress: null,
      output: null,
      outputs: [],
      error: null,
      createdAt: null,
      completedAt: null,
    };
  } else {
    ctx.log.warn({ jobId: job.id, upstreamJobId, code: res.error.code }, 'could not read job from Pixelbyte');
    return { job, changed: false, upstream: null };
  }

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
    const wasUncharged = job.status === 'submitting' || job.status === 'unknown';
    if (wasUncharged && advanced.job.upstreamJobId !== null)
      deps.metrics.money('captured', job.costMicroCents);
    if (advanced.job.refundedMicroCents > job.refundedMicroCents) {
      deps.metrics.money('refunded', advanced.job.refundedMicroCents - job.refundedMicroCents);
    }
    deps.metrics.jobTransitions.inc({ to: advanced.job.status });
    ctx.log.info(
      { jobId: job.id, from: job.status, to: advanced.job.status, actor: opts.actor },
      'job advanced',
    );
  }
  return { job: advanced.job, changed: advanced.changed, upstream };
}
