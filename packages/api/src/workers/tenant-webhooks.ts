import { createHmac } from 'node:crypto';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  type Job,
  jobs,
  modeOfTenant,
  publicTenantId,
  type TenantWebhookDelivery,
  tenants,
  tenantWebhookDeliveries,
} from '@tollgate/db';
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
 * tollgate → tenant webhooks, as Standard Webhooks messages (https://www.standardwebhooks.com):
 * `webhook-id` (the delivery id, the same on every retry and redelivery), `webhook-timestamp`,
 * `webhook-signature`. Rows of `tenant_webhook_deliveries` are the outbox: a trigger on `jobs`
 * (migration 0005) inserts one in the same transaction as a job's asynchronous terminal transition,
 * a trigger on `tenant_balances` (0019) one per balance.low crossing, the submit service one per
 * limit.reached window (services/webhook-deliveries.ts). This worker delivers them, at least once,
 * from any number of gateway instances:
 *
 * 1. claim: one short statement takes due rows `FOR UPDATE SKIP LOCKED`, counts the attempt and
 *    pushes `next_attempt_at` out by a lease (longer than the send timeout), so no other instance
 *    takes them while this one is sending, and a crashed sender's rows come back after the lease;
 * 2. send: POST outside any transaction, with a timeout, redirects not followed; the URL is checked
 *    again (https, no credentials, no private IP literal) and the host is resolved by a lookup that
 *    refuses non-public addresses, on the very socket that connects (SSRF, DNS rebinding: see
 *    services/webhook-url.ts). A refused URL or address fails the delivery at once (no retry);
 * 3. record: 2xx → delivered; otherwise retry after `retryBaseMs × 4^(attempt−1)` (1, 4, 16, 64 s by
 *    default) until `maxAttempts`, then failed (attempts count from `retry_from`: a redelivery gets
 *    a fresh budget). A result is recorded only for the attempt this
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

/** Standard Webhooks header names (also documented in the README for receivers). */
export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

const SECRET_PREFIX = 'whsec_';

/**
 * One Standard Webhooks signature: `v1,` + base64(HMAC-SHA256(key, `${msgId}.${timestamp}.${body}`)),
 * the key being the base64-decoded part of `whsec_<base64>` (as every Standard Webhooks library reads it).
 */
export function signStandardWebhook(secret: string, msgId: string, timestamp: number, body: string): string {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  return `v1,${createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`).digest('base64')}`;
}

/** The `webhook-signature` value: one signature per secret, space-separated (rotation: new and old). */
export function webhookSignatureHeader(
  secrets: readonly string[],
  msgId: string,
  timestamp: number,
  body: string,
): string {
  return secrets.map((s) => signStandardWebhook(s, msgId, timestamp, body)).join(' ');
}

/**
 * Every payload is `{ type, timestamp, data: { …, livemode } }`. `timestamp` is when the event
 * happened (the row's creation, DB clock), not when this attempt was sent (that is the
 * `webhook-timestamp` header). Job events carry the job as `jobs.get` shows it (its `livemode` and
 * the tenant's own id included); tenant events the data fixed when they happened, with the tenant's
 * own id and the book's `livemode` (false for a sandbox's events: test mode).
 */
export function webhookPayload(d: TenantWebhookDelivery, job: Job | undefined): string | null {
  let data: Record<string, unknown>;
  if (d.jobId !== null) {
    if (!job) return null;
    data = toJobView(job);
  } else {
    if (d.payload === null || typeof d.payload !== 'object') return null;
    data = {
      ...(d.payload as Record<string, unknown>),
      tenantId: publicTenantId(d.tenantId),
      livemode: modeOfTenant(d.tenantId) === 'live',
    };
  }
  return JSON.stringify({ type: d.eventType, timestamp: d.createdAt.toISOString(), data });
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
  const round = d.attempts - d.retryFrom;
  const giveUp = opts.final === true || round >= opts.maxAttempts;
  const delaySeconds = retryDelayMs(round, opts.retryBaseMs) / 1000;
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
  const jobIds = claimed.flatMap((d) => (d.jobId === null ? [] : [d.jobId]));
  const jobRows =
    jobIds.length === 0 ? [] : await deps.db.select().from(jobs).where(inArray(jobs.id, jobIds));
  const jobById = new Map(jobRows.map((j) => [j.id, j]));
  // The secrets to sign with now: the current one, and the replaced one while its grace lasts (DB
  // clock). Always the live tenant's row: a sandbox's events are signed like the tenant's own.
  const secretRows = await deps.db
    .select({
      id: tenants.id,
      current: tenants.webhookSecret,
      previous: sql<string | null>`CASE WHEN ${tenants.previousWebhookSecretExpiresAt} > now()
        THEN ${tenants.previousWebhookSecret} END`,
    })
    .from(tenants)
    .where(inArray(tenants.id, [...new Set(claimed.map((d) => publicTenantId(d.tenantId)))]));
  const secretsOf = new Map(
    secretRows.map((r) => [r.id, [r.current, r.previous].filter((s): s is string => s !== null)]),
  );
  const policy: WebhookUrlPolicy = {
    allowHttp: deps.config.allowHttpWebhooks === true,
    allowPrivate: deps.config.allowPrivateWebhooks === true,
  };
  let delivered = 0;

  await forEachBounded(claimed, opts.concurrency, async (d) => {
    const secrets = secretsOf.get(publicTenantId(d.tenantId)) ?? [];
    const ctx = {
      deliveryId: d.id,
      type: d.eventType,
      jobId: d.jobId,
      tenantId: d.tenantId,
      attempt: d.attempts,
    };
    let result: AttemptResult;
    let final = false;
    const problem = webhookUrlProblem(d.url, policy);
    const body = webhookPayload(d, d.jobId === null ? undefined : jobById.get(d.jobId));
    if (d.attempts - d.retryFrom > opts.maxAttempts) {
      // Our lease on the last attempt expired (crash mid-send): attempts are used up.
      result = { ok: false, statusCode: d.lastStatusCode, error: 'attempts exhausted' };
      final = true;
    } else if (secrets.length === 0) {
      result = { ok: false, statusCode: null, error: 'tenant has no webhook secret' };
      final = true;
    } else if (problem !== null) {
      // Re-checked before each send: the tenant default URL and older rows predate today's rules.
      result = { ok: false, statusCode: null, error: `webhook URL not allowed: it ${problem}` };
      final = true;
    } else if (body === null) {
      result = { ok: false, statusCode: null, error: 'event data missing' };
      final = true;
    } else {
      const timestamp = Math.floor(Date.now() / 1000);
      const sent = await send(
        new URL(d.url),
        {
          'content-type': 'application/json',
          'user-agent': 'tollgate-webhooks/2',
          [WEBHOOK_ID_HEADER]: d.id,
          [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignatureHeader(secrets, d.id, timestamp, body),
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
