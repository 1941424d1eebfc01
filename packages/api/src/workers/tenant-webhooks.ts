import { createHmac } from 'node:crypto';
import { jobs, type TenantWebhookDelivery, tenants, tenantWebhookDeliveries } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.ts';
import { webhookUrlAllowed } from '../services/webhook-url.ts';
import { toJobView } from '../services/wire.ts';
import { createLoop, forEachBounded, type Worker } from './run-loop.ts';

/**
 * tollgate → tenant webhooks. A trigger on `jobs` (packages/db migration 0005) inserts one
 * `tenant_webhook_deliveries` row in the same transaction as a job's asynchronous terminal
 * transition. This worker delivers them, at least once, from any number of gateway instances:
 *
 * 1. claim: one short statement takes due rows `FOR UPDATE SKIP LOCKED`, counts the attempt and
 *    pushes `next_attempt_at` out by a lease (longer than the send timeout), so no other instance
 *    takes them while this one is sending, and a crashed sender's rows come back after the lease;
 * 2. send: POST outside any transaction, with a timeout, redirects not followed;
 * 3. record: 2xx → delivered; otherwise retry after `retryBaseMs × 4^(attempt−1)` (1, 4, 16, 64 s by
 *    default) until `maxAttempts`, then failed. A result is recorded only for the attempt this
 *    instance claimed (`attempts` is the fencing token), so a late sender never overwrites a newer
 *    claim. Deliveries never move money.
 */
export type TenantWebhookOptions = {
  intervalMs: number;
  batchSize: number;
  concurrency: number;
  /** Per-request deadline. */
  timeoutMs: number;
  /** Delay before the 2nd attempt; each later one waits 4× longer. */
  retryBaseMs: number;
  /** Attempts in all (the first included) before the delivery is marked failed. */
  maxAttempts: number;
};

export const DEFAULT_TENANT_WEBHOOK_OPTIONS: TenantWebhookOptions = {
  intervalMs: 1_000,
  batchSize: 50,
  concurrency: 8,
  timeoutMs: 10_000,
  retryBaseMs: 1_000,
  maxAttempts: 5,
};

/** Header names (also documented in the README for receivers). */
export const SIGNATURE_HEADER = 'x-tollgate-signature';
export const TIMESTAMP_HEADER = 'x-tollgate-timestamp';

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>`: binds the body to the timestamp (replay window). */
export function signTenantWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/** Delay before the attempt after attempt number `attempt` (1-based). */
export function retryDelayMs(attempt: number, retryBaseMs: number): number {
  return retryBaseMs * 4 ** Math.max(0, attempt - 1);
}

/** Claims due deliveries (see the module comment); each row comes back with `attempts` already counted. */
export async function claimDueDeliveries(
  db: Db,
  opts: { limit: number; leaseMs: number },
): Promise<TenantWebhookDelivery[]> {
  const due = db
    .select({ id: tenantWebhookDeliveries.id })
    .from(tenantWebhookDeliveries)
    .where(
      and(
        eq(tenantWebhookDeliveries.status, 'pending'),
        lte(tenantWebhookDeliveries.nextAttemptAt, sql`now()`),
      ),
    )
    .orderBy(tenantWebhookDeliveries.nextAttemptAt)
    .limit(Math.max(1, opts.limit))
    .for('update', { skipLocked: true });
  return db
    .update(tenantWebhookDeliveries)
    .set({
      attempts: sql`${tenantWebhookDeliveries.attempts} + 1`,
      lastAttemptAt: sql`now()`,
      nextAttemptAt: sql`now() + make_interval(secs => ${opts.leaseMs / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(inArray(tenantWebhookDeliveries.id, due))
    .returning();
}

type AttemptResult =
  | { ok: true; statusCode: number }
  | { ok: false; statusCode: number | null; error: string };

async function recordAttempt(
  db: Db,
  d: TenantWebhookDelivery,
  result: AttemptResult,
  opts: { retryBaseMs: number; maxAttempts: number; final?: boolean },
): Promise<'delivered' | 'retry' | 'failed'> {
  const mine = and(
    eq(tenantWebhookDeliveries.id, d.id),
    eq(tenantWebhookDeliveries.status, 'pending'),
    eq(tenantWebhookDeliveries.attempts, d.attempts),
  );
  if (result.ok) {
    await db
      .update(tenantWebhookDeliveries)
      .set({
        status: 'delivered',
        deliveredAt: sql`now()`,
        nextAttemptAt: null,
        lastStatusCode: result.statusCode,
        lastError: null,
        updatedAt: sql`now()`,
      })
      // A 2xx is a delivery even if our lease expired meanwhile: no other state wins over it.
      .where(and(eq(tenantWebhookDeliveries.id, d.id), eq(tenantWebhookDeliveries.status, 'pending')));
    return 'delivered';
  }
  const giveUp = opts.final === true || d.attempts >= opts.maxAttempts;
  const delaySeconds = retryDelayMs(d.attempts, opts.retryBaseMs) / 1000;
  await db
    .update(tenantWebhookDeliveries)
    .set({
      status: giveUp ? 'failed' : 'pending',
      nextAttemptAt: giveUp ? null : sql`now() + make_interval(secs => ${delaySeconds})`,
      lastStatusCode: result.statusCode,
      lastError: result.error.slice(0, 500),
      updatedAt: sql`now()`,
    })
    .where(mine);
  return giveUp ? 'failed' : 'retry';
}

async function send(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      // SECURITY: a redirect could bounce the signed body elsewhere; 3xx counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
    return { ok: false, statusCode: res.status, error: `receiver answered HTTP ${res.status}` };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    const reason = name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `request failed (${name})`;
    return { ok: false, statusCode: null, error: reason };
  }
}

/** One pass: claim due deliveries, send them with bounded concurrency, record each result. */
export async function deliverDueTenantWebhooks(deps: AppDeps, opts: TenantWebhookOptions): Promise<number> {
  const log = deps.log.child({ worker: 'tenant-webhooks' });
  // The lease outlives the send (timeout) by a margin, so a live sender is never overtaken.
  const leaseMs = opts.timeoutMs * 2 + 5_000;
  const claimed = await claimDueDeliveries(deps.db, { limit: opts.batchSize, leaseMs });
  if (claimed.length === 0) return 0;
  const rows = await deps.db
    .select({ job: jobs, secret: tenants.webhookSecret })
    .from(jobs)
    .innerJoin(tenants, eq(tenants.id, jobs.tenantId))
    .where(
      inArray(
        jobs.id,
        claimed.map((d) => d.jobId),
      ),
    );
  const byJob = new Map(rows.map((r) => [r.job.id, r]));
  const allowHttp = deps.config.allowHttpWebhooks === true;
  let delivered = 0;

  await forEachBounded(claimed, opts.concurrency, async (d) => {
    const row = byJob.get(d.jobId);
    const ctx = { deliveryId: d.id, jobId: d.jobId, tenantId: d.tenantId, attempt: d.attempts };
    let result: AttemptResult;
    let final = false;
    if (d.attempts > opts.maxAttempts) {
      // Our lease on the last attempt expired (crash mid-send): attempts are used up.
      result = { ok: false, statusCode: d.lastStatusCode, error: 'attempts exhausted' };
      final = true;
    } else if (!row?.secret) {
      result = { ok: false, statusCode: null, error: 'tenant has no webhook secret' };
      final = true;
    } else if (!webhookUrlAllowed(d.url, allowHttp)) {
      result = { ok: false, statusCode: null, error: 'webhook URL not allowed (https only)' };
      final = true;
    } else {
      const body = JSON.stringify({ type: d.eventType, job: toJobView(row.job) });
      const timestamp = String(Math.floor(Date.now() / 1000));
      result = await send(
        d.url,
        {
          'content-type': 'application/json',
          'user-agent': 'tollgate-webhooks/1',
          'x-tollgate-event': d.eventType,
          'x-tollgate-delivery': d.id,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signTenantWebhook(row.secret, timestamp, body),
        },
        body,
        opts.timeoutMs,
      );
    }
    const outcome = await recordAttempt(deps.db, d, result, { ...opts, final });
    if (outcome === 'delivered') {
      delivered++;
      log.info(ctx, 'tenant webhook delivered');
    } else if (outcome === 'failed') {
      log.error({ ...ctx, error: result.ok ? undefined : result.error }, 'tenant webhook failed: giving up');
    } else {
      log.warn(
        { ...ctx, error: result.ok ? undefined : result.error },
        'tenant webhook attempt failed; will retry',
      );
    }
  });
  return delivered;
}

/** The delivery loop (one per gateway instance; instances coordinate through row locks only). */
export function createTenantWebhookWorker(deps: AppDeps, opts: Partial<TenantWebhookOptions> = {}): Worker {
  const o: TenantWebhookOptions = { ...DEFAULT_TENANT_WEBHOOK_OPTIONS, ...opts };
  return createLoop('tenant-webhooks', o.intervalMs, deps.log.child({ worker: 'tenant-webhooks' }), () =>
    deliverDueTenantWebhooks(deps, o),
  );
}
