import type { Job, JobStatus } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import {
  captureJob,
  getJob,
  listJobs,
  markJobUnknown,
  openJob,
  recordCancelAnswered,
  releaseJob,
  secondsUntilFirstJobEnds,
} from '@tollgate/db/ledger';
import { quote } from '@tollgate/pricing';
import { DomainError } from '../errors.ts';
import { failpoint } from '../failpoints.ts';
import { upstreamFor, webhookBaseFor } from '../sandbox.ts';
import { webhookUrlFor } from '../webhook-token.ts';
import { loadCatalogue } from './catalogue.ts';
import { type PricedTenantCtx, SYSTEM_ACTOR, type TenantCtx } from './context.ts';
import { syncJobWithUpstream } from './lifecycle.ts';
import { quoteError } from './pricing.ts';
import { upstreamNotSentError, upstreamRejectionError } from './upstream-errors.ts';
import { enqueueLimitReached } from './webhook-deliveries.ts';
import { webhookUrlProblem } from './webhook-url.ts';
import { canonicalJson, type JobView, sha256Hex, toJobView, toWireAmount } from './wire.ts';

export type SubmitInput = {
  model: string;
  input: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  webhookUrl?: string | undefined;
  maxCostMicroCents?: bigint | undefined;
  tags?: string[] | undefined;
};

/** Why openJob refused, as the tenant sees it. */
/** When a job of a tenant at its concurrency cap has no completion estimate to go by. */
const SLOT_RETRY_DEFAULT_SECONDS = 5;
const SLOT_RETRY_MAX_SECONDS = 60;

/**
 * Retry-After for CONCURRENT_JOBS_LIMIT: a slot frees when one of the tenant's jobs ends, so the
 * time until the first of them is expected to end (upstream's estimate), 1–60 s; 5 s when none has
 * an estimate. A hint, not a promise: the job may end late, or another request may take the slot.
 * Read only on this refusal, never on the submit path.
 */
async function retryAfterForASlot(db: Db, tenantId: string): Promise<number> {
  const seconds = await secondsUntilFirstJobEnds(db, tenantId);
  if (seconds === null) return SLOT_RETRY_DEFAULT_SECONDS;
  return Math.min(SLOT_RETRY_MAX_SECONDS, Math.max(1, Math.ceil(seconds)));
}

function openJobRefusal(
  r: Exclude<Awaited<ReturnType<typeof openJob>>, { ok: true }>,
  slotRetryAfterSeconds?: number,
): DomainError {
  switch (r.reason) {
    case 'INSUFFICIENT_BALANCE':
      return new DomainError({
        reason: 'INSUFFICIENT_BALANCE',
        details: {
          requiredMicroCents: toWireAmount(r.requiredMicroCents),
          availableMicroCents: toWireAmount(r.availableMicroCents),
        },
      });
    case 'CONCURRENT_JOBS_LIMIT':
    case 'DAILY_SPEND_LIMIT':
    case 'RATE_LIMIT': {
      const limit = typeof r.limit === 'bigint' ? toWireAmount(r.limit) : r.limit;
      const retryAfterSeconds =
        r.reason === 'CONCURRENT_JOBS_LIMIT' ? slotRetryAfterSeconds : r.retryAfterSeconds;
      return new DomainError({
        reason: r.reason,
        details: retryAfterSeconds === undefined ? { limit } : { limit, retryAfterSeconds },
      });
    }
    case 'TENANT_NOT_FOUND':
      return new DomainError({ reason: 'UNKNOWN_TENANT', message: 'tenant not found' });
    case 'TENANT_SUSPENDED':
      return new DomainError({ reason: 'TENANT_SUSPENDED' });
    case 'IDEMPOTENCY_CONFLICT':
      return new DomainError({ reason: 'IDEMPOTENCY_CONFLICT' });
    case 'IDEMPOTENCY_IN_FLIGHT':
      return new DomainError({
        reason: 'IDEMPOTENCY_IN_FLIGHT',
        details: { retryAfterSeconds: 1 },
      });
    default: {
      const never: never = r;
      throw new Error(`unhandled openJob refusal ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The submit flow (product.md): quote → one transaction (idempotency claim + hold + job row) →
 * forward OUTSIDE any transaction → record the outcome:
 * - accepted → capture (tenant charged the quote), job `pending`;
 * - definitive rejection or not sent → release the hold, job `rejected`, mapped error (not charged);
 * - unknown (timeout / connection lost after sending) → job `unknown` with the hold kept. Not an
 *   error: the tenant has not been charged yet and the outcome is resolved later by webhook, poller
 *   or, past UNKNOWN_JOB_GRACE, by releasing the hold. Never retried (Pixelbyte has no idempotency).
 */
export async function submitJob({
  ctx,
  input,
}: {
  ctx: PricedTenantCtx;
  input: SubmitInput;
}): Promise<JobView> {
  const { deps, tenant } = ctx;
  if (ctx.facts) ctx.facts.requestsPerMinute = tenant.requestsPerMinute;
  const webhookProblem =
    input.webhookUrl === undefined
      ? null
      : webhookUrlProblem(input.webhookUrl, {
          allowHttp: deps.config.allowHttpWebhooks === true,
          allowPrivate: deps.config.allowPrivateWebhooks === true,
        });
  if (webhookProblem !== null) {
    throw new DomainError({
      reason: 'INVALID_INPUT',
      message: `webhookUrl ${webhookProblem}`,
      details: { field: 'webhookUrl' },
    });
  }
  const catalogue = await loadCatalogue(deps.db, ctx.pricing);
  const q = quote({ model: input.model, input: input.input, markupBps: tenant.markupBps, catalogue });
  if (!q.ok) throw quoteError(q.error);
  if (input.maxCostMicroCents !== undefined && q.costMicroCents > input.maxCostMicroCents) {
    throw new DomainError({
      reason: 'MAX_COST_EXCEEDED',
      message: `the quote (${q.costMicroCents} micro-cents) is above maxCostMicroCents (${input.maxCostMicroCents}); nothing was charged`,
      details: {
        costMicroCents: toWireAmount(q.costMicroCents),
        maxCostMicroCents: toWireAmount(input.maxCostMicroCents),
      },
    });
  }
  const tags = input.tags ?? [];
  const fingerprint = sha256Hex(
    canonicalJson({
      model: q.model,
      normalizedInput: q.normalizedInput,
      webhookUrl: input.webhookUrl ?? null,
      maxCostMicroCents: input.maxCostMicroCents ?? null,
      tags,
    }),
  );

  const opened = await openJob(deps.db, {
    tenantId: tenant.id,
    model: q.model,
    input: q.normalizedInput,
    quoteMicroCents: q.costMicroCents,
    listCostMicroCents: q.listCostMicroCents,
    priceVersion: q.priceVersion,
    fingerprint,
    tags,
    actor: ctx.principal.sub,
    ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
  });
  if (!opened.ok) {
    const retryAfter =
      opened.reason === 'CONCURRENT_JOBS_LIMIT' ? await retryAfterForASlot(deps.db, tenant.id) : undefined;
    if (
      opened.reason === 'CONCURRENT_JOBS_LIMIT' ||
      opened.reason === 'DAILY_SPEND_LIMIT' ||
      opened.reason === 'RATE_LIMIT'
    ) {
      await enqueueLimitReached(deps, {
        tenantId: tenant.id,
        reason: opened.reason,
        limit: typeof opened.limit === 'bigint' ? toWireAmount(opened.limit) : opened.limit,
        retryAfterSeconds: opened.reason === 'CONCURRENT_JOBS_LIMIT' ? retryAfter : opened.retryAfterSeconds,
      });
    }
    throw openJobRefusal(opened, retryAfter);
  }
  if (ctx.facts) ctx.facts.replayed = opened.replayed;
  if (opened.replayed) return toJobView(opened.job);
  const job = opened.job;
  deps.metrics.recordMoneyMovement({ op: 'openJob', result: opened });
  failpoint('after-hold-commit');

  const { webhookTokenSecret } = deps.config;
  const publicBaseUrl = webhookBaseFor(deps, tenant.id);
  const upstream = await upstreamFor(deps, tenant.id);
  const started = performance.now();
  const res = await upstream.submitJob({
    model: q.model,
    input: { ...q.normalizedInput },
    ...(publicBaseUrl ? { webhookUrl: webhookUrlFor(publicBaseUrl, webhookTokenSecret, job.id) } : {}),
  });
  deps.metrics.upstreamDuration.observe({ operation: 'submit' }, (performance.now() - started) / 1000);
  deps.metrics.upstreamCalls.inc({
    operation: 'submit',
    outcome: res.ok ? 'ok' : res.error.outcome,
    code: res.ok ? 'OK' : res.error.code,
  });

  if (res.ok) {
    const accepted = res.value;
    let captured: Awaited<ReturnType<typeof captureJob>>;
    try {
      // captureJob is idempotent: retrying a DB blip cannot charge twice.
      captured = await withRetry(() => {
        failpoint('after-upstream-accept');
        return captureJob(deps.db, {
          jobId: job.id,
          upstreamJobId: accepted.jobId,
          upstreamCostMicroCents: accepted.costMicroCents,
          estimatedCompletionTime: accepted.estimatedCompletionTime
            ? new Date(accepted.estimatedCompletionTime)
            : null,
        });
      });
    } catch (err) {
      // MONEY: the job exists upstream (the operator pays for it). Never lose its id: keep the hold
      // as `unknown` with the id stored so the poller captures it, rather than expiring it for free.
      ctx.log.error({ err, jobId: job.id, upstreamJobId: accepted.jobId }, 'could not record the acceptance');
      await markJobUnknown(deps.db, {
        jobId: job.id,
        error: { code: 'CAPTURE_NOT_STORED', message: 'accepted upstream; the capture could not be stored' },
        upstreamJobId: accepted.jobId,
        upstreamCostMicroCents: accepted.costMicroCents,
      }).catch((markErr: unknown) =>
        ctx.log.error(
          { err: markErr, jobId: job.id, upstreamJobId: accepted.jobId },
          'could not store the upstream id either; finance must reconcile this job',
        ),
      );
      throw err;
    }
    if (captured.job.status === 'unknown') {
      // Pixelbyte named an upstream job another of our jobs already holds: not captured (the tenant
      // is not charged twice for one upstream job); the job stays unknown, flagged for review.
      deps.metrics.jobTransitions.inc({ to: 'unknown' });
      ctx.log.error(
        { jobId: job.id, upstreamJobId: accepted.jobId },
        'Pixelbyte answered with an upstream job already linked to another job; not captured, flagged for review',
      );
      return toJobView(captured.job);
    }
    deps.metrics.recordMoneyMovement({ op: 'captureJob', result: captured });
    failpoint('after-capture-commit');
    deps.metrics.jobTransitions.inc({ to: captured.job.status });
    ctx.log.info(
      { jobId: job.id, upstreamJobId: res.value.jobId, status: captured.job.status },
      'job accepted upstream',
    );
    return toJobView(captured.job);
  }

  const e = res.error;
  switch (e.outcome) {
    case 'rejected':
    case 'not_sent': {
      // Idempotent, so a DB blip is retried rather than leaving the hold to the stale-submit path.
      const released = await withRetry(() =>
        releaseJob(deps.db, {
          jobId: job.id,
          status: 'rejected',
          error: { code: e.code, message: e.message },
          actor: SYSTEM_ACTOR.submit,
        }),
      );
      deps.metrics.recordMoneyMovement({ op: 'releaseJob', result: released });
      deps.metrics.jobTransitions.inc({ to: 'rejected' });
      ctx.log.warn(
        { jobId: job.id, outcome: e.outcome, code: e.code, status: e.status },
        'job refused upstream; hold released',
      );
      throw e.outcome === 'rejected' ? upstreamRejectionError(e, job.id) : upstreamNotSentError(e, job.id);
    }
    case 'unknown': {
      // A garbled 2xx may still name the upstream job: store it so the poller resolves the job even
      // if the immediate read below fails (otherwise the hold would expire and nobody would pay).
      const marked = await markJobUnknown(deps.db, {
        jobId: job.id,
        error: { code: e.code, message: e.message },
        ...(e.jobId ? { upstreamJobId: e.jobId } : {}),
      });
      deps.metrics.jobTransitions.inc({ to: 'unknown' });
      ctx.log.warn({ jobId: job.id, code: e.code }, 'upstream outcome unknown; hold kept until resolved');
      if (e.jobId) {
        // A garbled 2xx still named the upstream job: read it back now rather than wait for a webhook.
        try {
          const synced = await syncJobWithUpstream(ctx, marked.job, {
            actor: SYSTEM_ACTOR.submit,
            upstreamJobIdHint: e.jobId,
          });
          return toJobView(synced.job);
        } catch (err) {
          ctx.log.warn({ err, jobId: job.id }, 'could not resolve the unknown outcome right away');
        }
      }
      return toJobView(marked.job);
    }
    default: {
      const never: never = e.outcome;
      throw new Error(`unhandled outcome ${String(never)}`);
    }
  }
}

const RETRY_DELAYS_MS = [50, 200, 500] as const;

/** Runs an idempotent ledger call, retrying a few times with short backoff (DB blips). */
async function withRetry<T>(op: () => Promise<T>): Promise<T> {
  for (const delayMs of RETRY_DELAYS_MS) {
    try {
      return await op();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  return op();
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
