import { TERMINAL_JOB_STATUSES } from '@tollgate/db';
import { captureJob, flagUnknownJobForReview, getJob } from '@tollgate/db/ledger';
import {
  parseWebhookPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from '@tollgate/pixelbyte';
import type { AppDeps } from './deps.ts';
import { type ErrorBody, reasonBody } from './errors.ts';
import { failpoint } from './failpoints.ts';
import type { Logger } from './logger.ts';
import type { Reason } from './reasons.ts';
import { upstreamFor } from './sandbox.ts';
import { SYSTEM_ACTOR } from './services/context.ts';
import { syncJobWithUpstream } from './services/lifecycle.ts';
import { verifyWebhookToken } from './webhook-token.ts';

export type WebhookResult = { status: number; body: ErrorBody | { ok: true; jobId: string; status: string } };

const JOB_ID = /^job_[A-Za-z0-9_-]{1,64}$/;

/**
 * `POST /webhooks/pixelbyte/:jobId?token=…`. Authenticity: the per-job URL token (constant time),
 * plus the `X-PixelByte-Signature` when PIXELBYTE_WEBHOOK_SECRET is set. The body is only a trigger:
 * the job is read back from Pixelbyte and moved forward idempotently, so duplicates and reordering
 * are harmless. Refusals happen before any database read; nothing is written unless authentic.
 * A failed upstream read answers 503 so Pixelbyte retries (the poller is the backstop).
 */
export async function handlePixelbyteWebhook(
  deps: AppDeps,
  req: {
    jobId: string;
    token: string | undefined;
    rawBody: string;
    headers: Headers;
    requestId: string;
    log: Logger;
  },
): Promise<WebhookResult> {
  const refuse = (reason: Reason, message?: string): WebhookResult => {
    deps.metrics.webhooks.inc({ result: reason.toLowerCase() });
    return reasonBody(reason, req.requestId, message);
  };
  if (!JOB_ID.test(req.jobId) || !verifyWebhookToken(deps.config.webhookTokenSecret, req.jobId, req.token)) {
    req.log.warn({ jobId: req.jobId.slice(0, 80) }, 'webhook refused: bad token');
    return refuse('INVALID_WEBHOOK_TOKEN');
  }
  const secret = deps.config.pixelbyteWebhookSecret;
  if (secret) {
    const v = verifyWebhookSignature({
      secret,
      rawBody: req.rawBody,
      timestampHeader: req.headers.get(TIMESTAMP_HEADER) ?? undefined,
      signatureHeader: req.headers.get(SIGNATURE_HEADER) ?? undefined,
    });
    if (!v.ok) {
      req.log.warn({ jobId: req.jobId, reason: v.reason }, 'webhook refused: bad signature');
      return refuse('INVALID_WEBHOOK_SIGNATURE', `webhook signature check failed (${v.reason})`);
    }
  }

  const job = await getJob(deps.db, { jobId: req.jobId });
  if (!job) return refuse('JOB_NOT_FOUND', `job ${req.jobId} not found`);
  if (job.status === 'rejected' && !(job.needsReview && job.upstreamJobId !== null)) {
    // MONEY: a webhook for a job we released (e.g. its unknown outcome expired) means the job may
    // exist upstream after all, and the operator pays for it. Confirm with Pixelbyte, then keep the
    // upstream id and flag the job for finance (captureJob's `rejected` branch; the tenant is not
    // charged after the fact).
    const hint = parseWebhookPayload(req.rawBody)?.jobId;
    const upstreamJobId = job.upstreamJobId ?? hint;
    if (upstreamJobId) {
      const res = await (await upstreamFor(deps, job.tenantId)).getJob(upstreamJobId);
      if (!res.ok && res.error.outcome !== 'rejected') {
        return refuse('UPSTREAM_UNAVAILABLE', 'could not read the job from Pixelbyte; retry');
      }
      if (res.ok) {
        const flagged = await captureJob(deps.db, {
          jobId: job.id,
          upstreamJobId,
          upstreamCostMicroCents: null,
          estimatedCompletionTime: null,
          actor: SYSTEM_ACTOR.webhook,
        });
        deps.metrics.recordMoneyMovement({ op: 'captureJob', result: flagged });
        req.log.warn({ jobId: job.id, upstreamJobId }, 'webhook for a rejected job: flagged for review');
        deps.metrics.webhooks.inc({ result: 'rejected_flagged' });
        return { status: 200, body: { ok: true, jobId: job.id, status: flagged.job.status } };
      }
    }
  }
  if ((TERMINAL_JOB_STATUSES as readonly string[]).includes(job.status)) {
    deps.metrics.webhooks.inc({ result: 'already_terminal' });
    return { status: 200, body: { ok: true, jobId: job.id, status: job.status } };
  }

  // A body we cannot parse is still a valid trigger when we know the upstream id: the truth is read upstream.
  const hint = parseWebhookPayload(req.rawBody)?.jobId;
  if (job.upstreamJobId === null && !hint) {
    // MONEY: the job is `submitting`/`unknown` (pending and later always have an id) and nothing
    // tells us which upstream job this is. The authentic token proves Pixelbyte holds a job for this
    // URL — the operator pays for it — so a 200 would stop Pixelbyte's retries and let the hold
    // expire for free. Answer 503 so it retries (1, 4, 16, 64, 256 s): the submit's answer may still
    // store the id (`submitting`), or a later delivery may name it. An `unknown` job is flagged
    // `needs_review` now (one conditional UPDATE, no money moves, `updated_at` kept so the grace is
    // not restarted): if it is released after UNKNOWN_JOB_GRACE, finance knows it exists upstream.
    if (job.status === 'unknown') await flagUnknownJobForReview(deps.db, job.id);
    req.log.warn(
      { jobId: job.id, status: job.status },
      'authentic webhook without an upstream job id for a job that has none yet: 503 so Pixelbyte retries',
    );
    return refuse('UPSTREAM_JOB_ID_UNKNOWN');
  }
  const ctx = { deps, requestId: req.requestId, log: req.log.child({ jobId: job.id }) };
  const synced = await syncJobWithUpstream(ctx, job, {
    actor: SYSTEM_ACTOR.webhook,
    upstreamJobIdHint: hint,
  });
  if (synced.upstream === null) {
    return refuse('UPSTREAM_UNAVAILABLE', 'could not read the job from Pixelbyte; retry');
  }
  failpoint('in-webhook');
  deps.metrics.webhooks.inc({ result: synced.changed ? 'advanced' : 'unchanged' });
  return { status: 200, body: { ok: true, jobId: job.id, status: synced.job.status } };
}
