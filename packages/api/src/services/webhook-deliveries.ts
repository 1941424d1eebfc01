import { jobs, type TenantWebhookDelivery, tenants, tenantWebhookDeliveries } from '@tollgate/db';
import { and, desc, eq, ne, sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { cursorTime, decodeCursor, pageOf } from './admin/cursor.ts';
import type { TenantCtx } from './context.ts';

/** Tenant webhook event types (README "Tenant webhooks"). `job.rejected`: an `unknown` job that ended refused. */
export const WEBHOOK_EVENT_TYPES = [
  'job.completed',
  'job.failed',
  'job.cancelled',
  'job.rejected',
  'balance.low',
  'limit.reached',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The tenant limits whose refusal is a `limit.reached` event (an insufficient balance is not: see balance.low). */
export type LimitReason = 'RATE_LIMIT' | 'CONCURRENT_JOBS_LIMIT' | 'DAILY_SPEND_LIMIT';

export const DEFAULT_LIMIT_REACHED_INTERVAL_MS = 15 * 60_000;

// Per instance: "tenant:reason" → the window (local clock) whose event was already enqueued, so a
// client hammering a limit costs no database write per refusal. The database's unique dedup key is
// what makes the event once per window across instances; this only spares it the repeated attempts.
const enqueuedWindow = new Map<string, number>();
const MEMO_MAX = 10_000;

/**
 * A submit was refused by a tenant limit: enqueue one `limit.reached` webhook for this tenant and
 * limit per window of TENANT_WEBHOOK_LIMIT_REACHED_INTERVAL (default 15 min, windows aligned to the
 * epoch on the DB clock), so a client retrying in a hot loop sends one event, not one per refusal.
 * No tenant webhook URL → nothing. Best effort: a failure is logged and never changes the refusal
 * the caller gets.
 */
export async function enqueueLimitReached(
  deps: AppDeps,
  ev: { tenantId: string; reason: LimitReason; limit: number; retryAfterSeconds?: number | undefined },
): Promise<void> {
  const intervalMs = deps.config.limitReachedWebhookIntervalMs ?? DEFAULT_LIMIT_REACHED_INTERVAL_MS;
  const memoKey = `${ev.tenantId}:${ev.reason}`;
  const localWindow = Math.floor(Date.now() / intervalMs);
  if (enqueuedWindow.get(memoKey) === localWindow) return;
  const payload = {
    tenantId: ev.tenantId,
    reason: ev.reason,
    limit: ev.limit,
    ...(ev.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: ev.retryAfterSeconds }),
  };
  try {
    await deps.db.execute(sql`
      INSERT INTO tenant_webhook_deliveries (id, tenant_id, event_type, url, payload, dedup_key)
      SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), t.id, 'limit.reached', t.webhook_url,
        ${JSON.stringify(payload)}::jsonb,
        'limit.reached:' || t.id || ':' || ${ev.reason} || ':'
          || floor(extract(epoch FROM now()) * 1000 / ${intervalMs})::bigint
      FROM tenants t
      WHERE t.id = ${ev.tenantId} AND t.webhook_url IS NOT NULL
      ON CONFLICT (dedup_key) DO NOTHING`);
    if (enqueuedWindow.size >= MEMO_MAX) enqueuedWindow.clear();
    enqueuedWindow.set(memoKey, localWindow);
  } catch (err) {
    deps.log.warn({ err, tenantId: ev.tenantId, reason: ev.reason }, 'could not enqueue limit.reached');
  }
}

/** A delivery as its tenant sees it (never the secret; the body is rebuilt at each send). */
export type WebhookDeliveryView = {
  /** `whd_…`, also the `webhook-id` header of every attempt. */
  id: string;
  type: string;
  jobId: string | null;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  /** Attempts made, redeliveries included. */
  attempts: number;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** Pending: when the next attempt is due. */
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
};

function toDeliveryView(d: TenantWebhookDelivery): WebhookDeliveryView {
  return {
    id: d.id,
    type: d.eventType,
    jobId: d.jobId,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: d.status === 'pending' ? (d.nextAttemptAt?.toISOString() ?? null) : null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
  };
}

/** `account.webhooks.deliveries`: the tenant's own deliveries, newest first, cursor-paginated. */
export async function listDeliveriesForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: {
    status?: 'pending' | 'delivered' | 'failed' | undefined;
    type?: WebhookEventType | undefined;
    jobId?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: WebhookDeliveryView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const d = tenantWebhookDeliveries;
  const rows = await ctx.deps.db
    .select({ delivery: d, ts: cursorTime(d.createdAt) })
    .from(d)
    .where(
      and(
        eq(d.tenantId, ctx.tenant.id),
        input.status === undefined ? undefined : eq(d.status, input.status),
        input.type === undefined ? undefined : eq(d.eventType, input.type),
        input.jobId === undefined ? undefined : eq(d.jobId, input.jobId),
        cursor ? sql`(${d.createdAt}, ${d.id}) < (${cursor.ts}::timestamptz, ${cursor.id})` : undefined,
      ),
    )
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(input.limit + 1);
  const { page, nextCursor } = pageOf(rows, input.limit, (r) => ({ ts: r.ts, id: r.delivery.id }));
  return { items: page.map((r) => toDeliveryView(r.delivery)), nextCursor };
}

const deliveryNotFound = (id: string) =>
  new DomainError({
    reason: 'WEBHOOK_DELIVERY_NOT_FOUND',
    message: `webhook delivery ${id} not found`,
  });

/**
 * `account.webhooks.redeliver`: sends one of the tenant's deliveries again, the same message (same
 * `webhook-id` and data, a fresh timestamp and signature), with a fresh retry budget. Safe to repeat:
 * a delivery already pending (queued or being sent) is left as it is and nothing is added, so any
 * number of calls, concurrent ones included, queue it at most once (one conditional UPDATE).
 * The URL is resolved again: the job's own webhookUrl, else the tenant's current one, else the URL
 * it was first sent to (a tenant that fixed its endpoint gets the event there). Another tenant's
 * delivery is NOT_FOUND.
 */
export async function redeliverForTenant({
  ctx,
  input,
}: {
  ctx: TenantCtx;
  input: { id: string };
}): Promise<WebhookDeliveryView> {
  const d = tenantWebhookDeliveries;
  const [requeued] = await ctx.deps.db
    .update(d)
    .set({
      status: 'pending',
      nextAttemptAt: sql`now()`,
      retryFrom: sql`${d.attempts}`,
      url: sql`coalesce(
        (SELECT ${jobs.webhookUrl} FROM ${jobs} WHERE ${jobs.id} = ${d.jobId}),
        (SELECT ${tenants.webhookUrl} FROM ${tenants} WHERE ${tenants.id} = ${d.tenantId}),
        ${d.url})`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(d.id, input.id), eq(d.tenantId, ctx.tenant.id), ne(d.status, 'pending')))
    .returning();
  if (requeued) {
    ctx.log.info({ deliveryId: requeued.id, type: requeued.eventType }, 'tenant webhook redelivery queued');
    return toDeliveryView(requeued);
  }
  const [current] = await ctx.deps.db
    .select()
    .from(d)
    .where(and(eq(d.id, input.id), eq(d.tenantId, ctx.tenant.id)));
  if (!current) throw deliveryNotFound(input.id);
  return toDeliveryView(current);
}
