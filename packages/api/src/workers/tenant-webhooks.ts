import { createHmac } from 'node:crypto';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { jobs, type TenantWebhookDelivery, tenants, tenantWebhookDeliveries } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.ts';
import {
  guardedLookup,
  PrivateAddressError,
  type ResolveAll,
  type WebhookUrlPolicy,
  webhookUrlProblem,
} from '../services/webhook-url.ts';
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
 * 2. send: POST outside any transaction, with a timeout, redirects not followed; the URL is checked
 *    again (https, no credentials, no private IP literal) and the host is resolved by a lookup that
 *    refuses non-public addresses, on the very socket that connects (SSRF, DNS rebinding: see
 *    services/webhook-url.ts). A refused URL or address fails the delivery at once (no retry);
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
  /**
   * Resolves webhook hosts (default `dns.lookup`); its answers go through `guardedLookup`. Tests
   * pass a fake resolver to route a name to a local receiver.
   */
  resolve?: ResolveAll;
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

type SendOptions = { timeoutMs: number; allowPrivate: boolean; resolve: ResolveAll | undefined };

/**
 * One POST with node:http(s) (not fetch: its connection has no per-request `lookup`). Resolves on the
 * response status; never throws. Redirects are not followed (SECURITY: a redirect could bounce the
 * signed body elsewhere, an internal address included; 3xx counts as a failure). `final` = retrying
 * cannot help (the host resolved to a non-public address).
 */
function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
  opts: SendOptions,
): Promise<AttemptResult & { final?: boolean }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: AttemptResult & { final?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const options: RequestOptions = {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // A fresh connection per delivery (keep-alive off): nothing pooled outlives the worker.
      agent: false,
      ...(opts.allowPrivate && !opts.resolve ? {} : { lookup: lookupFor(opts) }),
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      const status = res.statusCode ?? 0;
      res.destroy();
      if (status >= 200 && status < 300) done({ ok: true, statusCode: status });
      else done({ ok: false, statusCode: status, error: `receiver answered HTTP ${status}` });
    });
    const timer = setTimeout(() => {
      done({ ok: false, statusCode: null, error: `no answer within ${opts.timeoutMs} ms` });
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof PrivateAddressError) {
        done({ ok: false, statusCode: null, error: `refused (SSRF): ${err.message}`, final: true });
      } else {
        done({ ok: false, statusCode: null, error: `request failed (${err.code ?? err.name})` });
      }
    });
    req.end(body);
  });
}

function lookupFor(opts: SendOptions): RequestOptions['lookup'] {
  const guarded = guardedLookup(opts.resolve);
  if (!opts.allowPrivate) return guarded as RequestOptions['lookup'];
  // Private destinations allowed (dev, tests): the test resolver, unchecked.
  const resolveAll = opts.resolve as ResolveAll;
  return ((hostname, options, callback) =>
    resolveAll(hostname, { ...options, all: true }, (err, addresses) => {
      const first = addresses?.[0];
      if (err || !first) return callback(err ?? new Error(`${hostname} has no address`), '', 0);
      if (options.all) return (callback as (e: null, a: typeof addresses) => void)(null, addresses);
      return callback(null, first.address, first.family);
    })) as RequestOptions['lookup'];
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
  const policy: WebhookUrlPolicy = {
    allowHttp: deps.config.allowHttpWebhooks === true,
    allowPrivate: deps.config.allowPrivateWebhooks === true,
  };
  let delivered = 0;

  await forEachBounded(claimed, opts.concurrency, async (d) => {
    const row = byJob.get(d.jobId);
    const ctx = { deliveryId: d.id, jobId: d.jobId, tenantId: d.tenantId, attempt: d.attempts };
    let result: AttemptResult;
    let final = false;
    const problem = webhookUrlProblem(d.url, policy);
    if (d.attempts > opts.maxAttempts) {
      // Our lease on the last attempt expired (crash mid-send): attempts are used up.
      result = { ok: false, statusCode: d.lastStatusCode, error: 'attempts exhausted' };
      final = true;
    } else if (!row?.secret) {
      result = { ok: false, statusCode: null, error: 'tenant has no webhook secret' };
      final = true;
    } else if (problem !== null) {
      // Re-checked before each send: the tenant default URL and older rows predate today's rules.
      result = { ok: false, statusCode: null, error: `webhook URL not allowed: it ${problem}` };
      final = true;
    } else {
      const body = JSON.stringify({ type: d.eventType, job: toJobView(row.job) });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const sent = await send(
        new URL(d.url),
        {
          'content-type': 'application/json',
          'user-agent': 'tollgate-webhooks/1',
          'x-tollgate-event': d.eventType,
          'x-tollgate-delivery': d.id,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signTenantWebhook(row.secret, timestamp, body),
        },
        body,
        { timeoutMs: opts.timeoutMs, allowPrivate: policy.allowPrivate, resolve: opts.resolve },
      );
      final = sent.final === true;
      result = sent.ok
        ? { ok: true, statusCode: sent.statusCode }
        : { ok: false, statusCode: sent.statusCode, error: sent.error };
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
  return createLoop(
    'tenant-webhooks',
    o.intervalMs,
    deps.log.child({ worker: 'tenant-webhooks' }),
    () => deliverDueTenantWebhooks(deps, o),
    { dbBreaker: deps.dbBreaker },
  );
}
