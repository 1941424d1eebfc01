import type { Job, JobStatus } from '@tollgate/db';
import { getJob, listJobs, recordCancelAnswered } from '@tollgate/db/ledger';
import { DomainError } from '../errors.ts';
import { failpoint } from '../failpoints.ts';
import { upstreamFor } from '../sandbox.ts';
import type { PricedTenantCtx, TenantCtx } from './context.ts';
import { syncJobWithUpstream } from './lifecycle.ts';
import {
  forwardToPixelbyte,
  openJobOrRefuse,
  priceSubmit,
  recordAcceptance,
  recordUpstreamError,
  refuseUnusableWebhookUrl,
  type SubmitInput,
} from './submit-steps.ts';
import { type JobView, toJobView } from './wire.ts';

/**
 * `jobs.submit` / `POST /v1/jobs`: the submit flow of product.md, one step per line (the steps are in
 * submit-steps.ts). The tenant is charged only once Pixelbyte accepts the job; no transaction is
 * open while Pixelbyte is called; an unknown outcome keeps the hold and answers the job `unknown`.
 */
export async function submitJob({
  ctx,
  input,
}: {
  ctx: PricedTenantCtx;
  input: SubmitInput;
}): Promise<JobView> {
  // 1. Authenticated by the procedure: tenant role, tenant row and its prices in force (one read).
  if (ctx.facts) ctx.facts.requestsPerMinute = ctx.tenant.requestsPerMinute;
  // 2. Validate and normalise the request, and price it (nothing written yet).
  refuseUnusableWebhookUrl(ctx, input.webhookUrl);
  const q = await priceSubmit(ctx, input);
  // 3. Idempotency claim + hold + job row `submitting`: one short transaction; refusals thrown.
  const opened = await openJobOrRefuse(ctx, input, q);
  if (ctx.facts) ctx.facts.replayed = opened.replayed;
  if (opened.replayed) return toJobView(opened.job);
  const job = opened.job;
  ctx.deps.metrics.recordMoneyMovement({ op: 'openJob', result: opened });
  failpoint('after-hold-commit');
  // 4. Forward to Pixelbyte, outside any transaction.
  const res = await forwardToPixelbyte(ctx, q, job);
  // 5. Record the answer: accepted → capture (charged); refused → release (thrown); unknown → hold kept.
  if (res.ok) return recordAcceptance(ctx, job, res.value);
  return recordUpstreamError(ctx, job, res.error);
}

async function ownJob(ctx: TenantCtx, id: string): Promise<Job> {
  const job = await getJob(ctx.deps.db, { tenantId: ctx.tenant.id, jobId: id });
  // SECURITY: another tenant's job is indistinguishable from a missing one (NOT_FOUND, never FORBIDDEN).
  if (!job) throw new DomainError({ reason: 'JOB_NOT_FOUND', message: `job ${id} not found` });
  return job;
}

export async function getJobForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: { id: string };
}): Promise<JobView> {
  return toJobView(await ownJob(ctx, input.id));
}

export async function listJobsForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: {
    status?: JobStatus | undefined;
    model?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: JobView[]; nextCursor: string | null }> {
  const page = await listJobs(ctx.deps.db, {
    tenantId: ctx.tenant.id,
    limit: input.limit,
    ...(input.status === undefined ? {} : { status: input.status }),
    ...(input.model === undefined ? {} : { model: input.model }),
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
  return { items: page.items.map(toJobView), nextCursor: page.nextCursor ?? null };
}

/**
 * Cancels a job Pixelbyte still has `pending`. The money moves only after reading the job back
 * from Pixelbyte (the truth): a cancelled upstream job is refunded once by advanceJob; the cancel's
 * answer alone never refunds.
 */
export async function cancelJobForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: { id: string };
}): Promise<JobView> {
  const job = await ownJob(ctx, input.id);
  const notCancellable = (why: string) =>
    new DomainError({
      reason: 'JOB_NOT_CANCELLABLE',
      message: `job ${job.id} cannot be cancelled: ${why}`,
      details: { status: job.status },
    });
  if (job.status === 'cancelled') return toJobView(job);
  if (job.status !== 'pending' || !job.upstreamJobId) throw notCancellable(`it is ${job.status}`);

  const res = await (await upstreamFor(ctx.deps, job.tenantId)).cancelJob(job.upstreamJobId);
  ctx.deps.metrics.upstreamCalls.inc({
    operation: 'cancel',
    outcome: res.ok ? 'ok' : res.error.outcome,
    code: res.ok ? 'OK' : res.error.code,
  });
  if (
    !res.ok &&
    res.error.outcome === 'rejected' &&
    res.error.status !== undefined &&
    res.error.status < 500
  ) {
    // Most likely already processing upstream (JOB_CANNOT_BE_CANCELLED); sync so the tenant sees why.
    const synced = await syncJobWithUpstream(ctx, job, { actor: ctx.principal.sub });
    if (synced.job.status === 'cancelled') return toJobView(synced.job);
    throw notCancellable(`Pixelbyte refused (${res.error.code})`);
  }
  if (!res.ok) {
    throw new DomainError({
      reason: 'UPSTREAM_UNAVAILABLE',
      message: 'Pixelbyte did not confirm the cancellation; check the job again shortly',
      details: { jobId: job.id },
    });
  }
  // Pixelbyte answered: only a read of the job moves money (refund once when it reads cancelled).
  // A `cancelled` answer alone refunds nothing: it is recorded, and should the job then read
  // completed or failed, it is settled as read (charged / refunded) and flagged for review
  // (docs/reliability.md, attack table). Until a read succeeds the job stays as it is (the
  // poller and webhooks settle it); any status other than `cancelled` is not a cancellation.
  const answeredCancelled = res.value.status === 'cancelled';
  const recorded = answeredCancelled ? await recordCancelAnswered(ctx.deps.db, job.id) : undefined;
  const synced = await syncJobWithUpstream(ctx, recorded ?? job, { actor: ctx.principal.sub });
  return toJobView(synced.job);
}
