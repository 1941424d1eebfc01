import type { Job } from '@tollgate/db';
import { advanceJob, captureJob } from '@tollgate/db/ledger';
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
 * endpoint; the list price recorded at submit is used as the upstream cost in that case.
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

  let current = job;
  if (current.status === 'submitting' || current.status === 'unknown') {
    const captured = await captureJob(deps.db, {
      jobId: current.id,
      upstreamJobId,
      upstreamCostMicroCents: current.listCostMicroCents,
      estimatedCompletionTime: null,
    });
    if (captured.job.status !== current.status) {
      deps.metrics.money('captured', current.costMicroCents);
      deps.metrics.jobTransitions.inc({ to: captured.job.status });
    }
    current = captured.job;
  }

  const advanced = await advanceJob(deps.db, {
    jobId: current.id,
    upstream: {
      status: upstream.status,
      output: upstream.output,
      outputs: upstream.outputs,
      error: upstream.error,
      completedAt: upstream.completedAt ? new Date(upstream.completedAt) : null,
    },
  });
  if (advanced.changed) {
    deps.metrics.jobTransitions.inc({ to: advanced.job.status });
    if (advanced.job.refundedMicroCents > current.refundedMicroCents) {
      deps.metrics.money('refunded', advanced.job.refundedMicroCents - current.refundedMicroCents);
    }
    ctx.log.info(
      { jobId: current.id, from: current.status, to: advanced.job.status, actor: opts.actor },
      'job advanced',
    );
  }
  return { job: advanced.job, changed: advanced.changed || current !== job, upstream };
}
