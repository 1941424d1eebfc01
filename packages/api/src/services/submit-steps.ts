// The steps of the submit flow (product.md "Submit flow"), in the order `submitJob` (jobs.ts) runs
// them: validate and price the request, open the job (idempotency claim + hold + job row, one short
// transaction), forward it to Pixelbyte outside any transaction, record Pixelbyte's answer. Only the
// ledger moves money; each step that moves it hands the ledger's result to the money metrics.
import type { Job } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import {
  captureJob,
  markJobUnknown,
  type OpenJobResult,
  openJob,
  releaseJob,
  secondsUntilFirstJobEnds,
} from '@tollgate/db/ledger';
import type { PbResult, PixelbyteError, SubmitJobResponse } from '@tollgate/pixelbyte';
import { type QuoteSuccess, quote } from '@tollgate/pricing';
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

/** A job opened by this request or, on an idempotency replay, by an earlier one. */
export type OpenedJob = Extract<OpenJobResult, { ok: true }>;

/** A tenant's own webhook URL must be one we may call (https, public address, unless configured otherwise). */
export function refuseUnusableWebhookUrl(ctx: TenantCtx, webhookUrl: string | undefined): void {
  const { config } = ctx.deps;
  const webhookProblem =
    webhookUrl === undefined
      ? null
      : webhookUrlProblem(webhookUrl, {
          allowHttp: config.allowHttpWebhooks === true,
          allowPrivate: config.allowPrivateWebhooks === true,
        });
  if (webhookProblem !== null) {
    throw new DomainError({
      reason: 'INVALID_INPUT',
      message: `webhookUrl ${webhookProblem}`,
      details: { field: 'webhookUrl' },
    });
  }
}

/**
 * Validates the input against the model's schema and prices it with the tenant's catalogue in force
 * (read with the tenant row: no round trip here unless the memo is cold). A quote above the tenant's
 * `maxCostMicroCents` is refused before anything is written.
 */
export async function priceSubmit(ctx: PricedTenantCtx, input: SubmitInput): Promise<QuoteSuccess> {
  const catalogue = await loadCatalogue(ctx.deps.db, ctx.pricing);
  const q = quote({ model: input.model, input: input.input, markupBps: ctx.tenant.markupBps, catalogue });
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
  return q;
}

/**
 * The idempotency claim, the hold (balance and limits checked by one conditional UPDATE) and the job
 * row (`submitting`) in one short transaction (ledger.openJob). A refusal is thrown as the tenant
 * sees it; a limit refusal also tells the tenant's webhook (`limit.reached`).
 */
export async function openJobOrRefuse(
  ctx: TenantCtx,
  input: SubmitInput,
  q: QuoteSuccess,
): Promise<OpenedJob> {
  const { deps, tenant } = ctx;
  const tags = input.tags ?? [];
  const opened = await openJob(deps.db, {
    tenantId: tenant.id,
    model: q.model,
    input: q.normalizedInput,
    quoteMicroCents: q.costMicroCents,
    listCostMicroCents: q.listCostMicroCents,
    priceVersion: q.priceVersion,
    fingerprint: requestFingerprint(input, q, tags),
    tags,
    actor: ctx.principal.sub,
    ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
  });
  if (opened.ok) return opened;
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

/**
 * The request's identity for its idempotency key: the same key with another fingerprint is a
 * different request (CONFLICT). Built from the normalised input, so equivalent inputs are one request.
 */
function requestFingerprint(input: SubmitInput, q: QuoteSuccess, tags: string[]): string {
  return sha256Hex(
    canonicalJson({
      model: q.model,
      normalizedInput: q.normalizedInput,
      webhookUrl: input.webhookUrl ?? null,
      maxCostMicroCents: input.maxCostMicroCents ?? null,
      tags,
    }),
  );
}

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

/** Why openJob refused, as the tenant sees it. */
function openJobRefusal(
  r: Exclude<OpenJobResult, { ok: true }>,
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
 * `POST /v1/jobs/submit` to Pixelbyte (the tenant's book decides which: test mode goes to the
 * sandbox simulator), with our signed webhook URL when the gateway has a public one. Never retried:
 * Pixelbyte has no idempotency, so a retry could create (and bill the operator for) a second job.
 */
export async function forwardToPixelbyte(
  ctx: TenantCtx,
  q: QuoteSuccess,
  job: Job,
): Promise<PbResult<SubmitJobResponse>> {
  const { deps, tenant } = ctx;
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
  return res;
}

/** Pixelbyte accepted: capture the hold (the tenant is charged the quote), job `pending`. */
export async function recordAcceptance(
  ctx: TenantCtx,
  job: Job,
  accepted: SubmitJobResponse,
): Promise<JobView> {
  const { deps } = ctx;
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
    { jobId: job.id, upstreamJobId: accepted.jobId, status: captured.job.status },
    'job accepted upstream',
  );
  return toJobView(captured.job);
}

/**
 * Pixelbyte did not accept:
 * - definitive rejection, or not sent → release the hold, job `rejected`, thrown as the mapped error
 *   (the tenant is not charged);
 * - unknown (timeout / connection lost after sending) → job `unknown` with the hold kept. Not an
 *   error: the tenant has not been charged yet and the outcome is resolved later by webhook, poller
 *   or, past UNKNOWN_JOB_GRACE, by releasing the hold.
 */
export async function recordUpstreamError(ctx: TenantCtx, job: Job, e: PixelbyteError): Promise<JobView> {
  const { deps } = ctx;
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
