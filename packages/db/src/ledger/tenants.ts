// Tenants and their settings. Every change writes one audit_log row in the same transaction.
import { randomBytes } from 'node:crypto';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { modeOfTenant, sandboxTenantId } from '../sandbox';
import { type Tenant, type TenantStatus, tenantBalances, tenants } from '../schema';
import {
  cursorTime,
  decodeCursor,
  encodeCursor,
  inTransaction,
  preparedRows,
  rows,
  writeAudit,
} from './internal';

/** Tenant limits; null = unlimited. */
export interface TenantLimits {
  maxConcurrentJobs: number | null;
  dailySpendLimitMicroCents: bigint | null;
  requestsPerMinute: number | null;
}

export interface CreateTenantInput {
  name: string;
  markupBps?: number;
  limits?: Partial<TenantLimits>;
  webhookUrl?: string | null;
  /** balance.low webhook threshold (kept on the balance row); null/omitted = none. */
  lowBalanceThresholdMicroCents?: bigint | null;
  actor: string;
  requestId?: string;
}

export function tenantLimits(t: Tenant): TenantLimits {
  return {
    maxConcurrentJobs: t.maxConcurrentJobs,
    dailySpendLimitMicroCents: t.dailySpendLimitMicroCents,
    requestsPerMinute: t.requestsPerMinute,
  };
}

// Webhook secrets never go into the audit log.
function auditView(t: Tenant): Omit<Tenant, 'webhookSecret' | 'previousWebhookSecret'> {
  const { webhookSecret: _secret, previousWebhookSecret: _previous, ...rest } = t;
  return rest;
}

/**
 * A Standard Webhooks signing secret: `whsec_` + standard base64 of 32 random bytes (the HMAC-SHA256
 * key is the decoded bytes, as every Standard Webhooks library reads it).
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Creates a tenant (status active) and its zero balance row. */
export async function createTenant(
  db: Db,
  input: CreateTenantInput,
): Promise<Tenant & { lowBalanceThresholdMicroCents: bigint | null }> {
  return db.transaction(async (tx) => {
    const [tenant] = await tx
      .insert(tenants)
      .values({
        id: newId('ten'),
        name: input.name,
        markupBps: input.markupBps ?? 0,
        maxConcurrentJobs: input.limits?.maxConcurrentJobs ?? null,
        dailySpendLimitMicroCents: input.limits?.dailySpendLimitMicroCents ?? null,
        requestsPerMinute: input.limits?.requestsPerMinute ?? null,
        webhookUrl: input.webhookUrl ?? null,
        webhookSecret: newWebhookSecret(),
      })
      .returning();
    if (!tenant) throw new Error('bug: tenant insert returned nothing');
    const lowBalanceThresholdMicroCents = input.lowBalanceThresholdMicroCents ?? null;
    await tx.insert(tenantBalances).values({ tenantId: tenant.id, lowBalanceThresholdMicroCents });
    await writeAudit(tx, {
      actor: input.actor,
      action: 'tenant.create',
      targetType: 'tenant',
      targetId: tenant.id,
      after: { ...auditView(tenant), lowBalanceThresholdMicroCents },
      requestId: input.requestId,
    });
    return { ...tenant, lowBalanceThresholdMicroCents };
  });
}

export async function getTenant(db: Db, tenantId: string): Promise<Tenant | undefined> {
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  return tenant;
}

export interface ListTenantsInput {
  status?: TenantStatus;
  cursor?: string;
  limit: number;
}

/** Tenants newest first, cursor-paginated. An unreadable cursor yields an empty page. */
export async function listTenants(
  db: Db,
  input: ListTenantsInput,
): Promise<{ items: Tenant[]; nextCursor: string | null }> {
  const limit = Math.max(1, Math.min(input.limit, 500));
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  if (input.cursor !== undefined && !cursor) return { items: [], nextCursor: null };
  const page = await db
    .select({
      tenant: tenants,
      cursorTs: cursorTime(tenants.createdAt),
    })
    .from(tenants)
    .where(
      and(
        input.status ? eq(tenants.status, input.status) : undefined,
        cursor
          ? sql`(${tenants.createdAt}, ${tenants.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(limit + 1);
  const items = page.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => r.tenant),
    nextCursor: page.length > limit && last ? encodeCursor(last.cursorTs, last.tenant.id) : null,
  };
}

export interface UpdateTenantInput {
  tenantId: string;
  name?: string;
  markupBps?: number;
  limits?: Partial<TenantLimits>;
  webhookUrl?: string | null;
  /** balance.low webhook threshold; null = none. Not a crossing by itself (see migration 0019). */
  lowBalanceThresholdMicroCents?: bigint | null;
  actor: string;
  requestId?: string;
}

export type TenantResult = { ok: true; tenant: Tenant } | { ok: false; reason: 'TENANT_NOT_FOUND' };

/**
 * Changes name, markup, limits, webhook URL or balance.low threshold; fields left undefined stay as
 * they are. Returns the tenant with its threshold (which lives on the balance row).
 */
export async function updateTenant(
  db: Db,
  input: UpdateTenantInput,
): Promise<
  | { ok: true; tenant: Tenant; lowBalanceThresholdMicroCents: bigint | null }
  | { ok: false; reason: 'TENANT_NOT_FOUND' }
> {
  return inTransaction(db, async (tx, refuse) => {
    const [before] = await tx
      .select()
      .from(tenants)
      .where(eq(tenants.id, input.tenantId))
      .for('no key update');
    if (!before) return refuse({ ok: false, reason: 'TENANT_NOT_FOUND' });
    const set: Partial<typeof tenants.$inferInsert> = {};
    if (input.name !== undefined) set.name = input.name;
    if (input.markupBps !== undefined) set.markupBps = input.markupBps;
    if (input.webhookUrl !== undefined) set.webhookUrl = input.webhookUrl;
    if (input.limits?.maxConcurrentJobs !== undefined) set.maxConcurrentJobs = input.limits.maxConcurrentJobs;
    if (input.limits?.dailySpendLimitMicroCents !== undefined)
      set.dailySpendLimitMicroCents = input.limits.dailySpendLimitMicroCents;
    if (input.limits?.requestsPerMinute !== undefined) set.requestsPerMinute = input.limits.requestsPerMinute;
    const [tenant] = await tx
      .update(tenants)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(tenants.id, input.tenantId))
      .returning();
    if (!tenant) throw new Error('bug: locked tenant vanished');
    // Only this column of the balance row: the trigger on available_micro_cents does not fire.
    const [thresholdBefore] = await tx
      .select({ v: tenantBalances.lowBalanceThresholdMicroCents })
      .from(tenantBalances)
      .where(eq(tenantBalances.tenantId, input.tenantId));
    let lowBalanceThresholdMicroCents = thresholdBefore?.v ?? null;
    if (input.lowBalanceThresholdMicroCents !== undefined) {
      lowBalanceThresholdMicroCents = input.lowBalanceThresholdMicroCents;
      // The sandbox's book (test mode) follows the tenant's threshold, as its other settings do.
      const books =
        modeOfTenant(input.tenantId) === 'live'
          ? [input.tenantId, sandboxTenantId(input.tenantId)]
          : [input.tenantId];
      await tx
        .update(tenantBalances)
        .set({ lowBalanceThresholdMicroCents })
        .where(inArray(tenantBalances.tenantId, books));
    }
    await writeAudit(tx, {
      actor: input.actor,
      action: 'tenant.update',
      targetType: 'tenant',
      targetId: tenant.id,
      before: { ...auditView(before), lowBalanceThresholdMicroCents: thresholdBefore?.v ?? null },
      after: { ...auditView(tenant), lowBalanceThresholdMicroCents },
      requestId: input.requestId,
    });
    return { ok: true as const, tenant, lowBalanceThresholdMicroCents };
  });
}

export interface SetTenantStatusInput {
  tenantId: string;
  status: TenantStatus;
  actor: string;
  reason?: string;
  requestId?: string;
}

/**
 * Suspends or reactivates a tenant. A suspended tenant cannot open holds (checked in the hold's
 * UPDATE); money already held still settles normally.
 */
export async function setTenantStatus(db: Db, input: SetTenantStatusInput): Promise<TenantResult> {
  return inTransaction<TenantResult>(db, async (tx, refuse) => {
    const [before] = await rows<{ status: TenantStatus }>(
      tx,
      sql`SELECT status FROM tenants WHERE id = ${input.tenantId} FOR NO KEY UPDATE`,
    );
    if (!before) return refuse({ ok: false, reason: 'TENANT_NOT_FOUND' });
    const [tenant] = await tx
      .update(tenants)
      .set({ status: input.status, updatedAt: sql`now()` })
      .where(eq(tenants.id, input.tenantId))
      .returning();
    if (!tenant) throw new Error('bug: locked tenant vanished');
    await writeAudit(tx, {
      actor: input.actor,
      action: input.status === 'suspended' ? 'tenant.suspend' : 'tenant.reactivate',
      targetType: 'tenant',
      targetId: tenant.id,
      before: { status: before.status },
      after: { status: tenant.status, ...(input.reason ? { reason: input.reason } : {}) },
      requestId: input.requestId,
    });
    return { ok: true, tenant };
  });
}

export interface Account {
  tenantId: string;
  name: string;
  status: TenantStatus;
  markupBps: number;
  availableMicroCents: bigint;
  heldMicroCents: bigint;
  limits: TenantLimits;
  /** Jobs (or bare holds) not yet terminal. */
  activeJobs: number;
  /** Held today (UTC, DB clock) minus what was given back; 0 once the day rolled over. */
  spentTodayMicroCents: bigint;
  /** balance.low webhook threshold; null = none. */
  lowBalanceThresholdMicroCents: bigint | null;
}

/** Where a tenant stands in its requests-per-minute window (the window `tollgate_open_job` counts submits in). */
export interface RateWindow {
  /** The tenant's `requestsPerMinute`. */
  limit: number;
  /** Submits counted in the current minute (UTC, DB clock). */
  used: number;
  /** Seconds until the window restarts (1–60). */
  resetSeconds: number;
}

/**
 * The tenant's current requests-per-minute window, or null when it has no such limit (or does not
 * exist). Read with the same clock and window rule as the hold's check (`holdRefusal`, limits.ts),
 * after a submit, for the RateLimit-* headers of the REST API.
 */
export async function getRateWindow(db: Db, tenantId: string): Promise<RateWindow | null> {
  const [r] = await preparedRows<{ limit: number | null; used: number; reset: number }>(
    db,
    sql`
    WITH clock AS (SELECT date_trunc('minute', now(), 'UTC') AS minute)
    SELECT t.requests_per_minute AS "limit",
      CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END AS used,
      greatest(1, ceil(extract(epoch FROM (c.minute + interval '1 minute' - now()))))::int AS reset
    FROM tenants t CROSS JOIN clock c JOIN tenant_balances b ON b.tenant_id = t.id
    WHERE t.id = ${tenantId}`,
  );
  if (!r || r.limit === null) return null;
  return { limit: r.limit, used: r.used, resetSeconds: r.reset };
}

/** The tenant's balances and limits (`account.get`); undefined for an unknown tenant. */
export async function getAccount(db: Db, tenantId: string): Promise<Account | undefined> {
  const [row] = await db
    .select({
      tenant: tenants,
      balance: tenantBalances,
      spentToday: sql<bigint>`CASE WHEN ${tenantBalances.spendDay} = (now() AT TIME ZONE 'UTC')::date
        THEN ${tenantBalances.spendTodayMicroCents} ELSE 0::bigint END`.mapWith((v: bigint | string) =>
        BigInt(v),
      ),
    })
    .from(tenants)
    .innerJoin(tenantBalances, eq(tenantBalances.tenantId, tenants.id))
    .where(eq(tenants.id, tenantId));
  if (!row) return undefined;
  return {
    tenantId: row.tenant.id,
    name: row.tenant.name,
    status: row.tenant.status,
    markupBps: row.tenant.markupBps,
    availableMicroCents: row.balance.availableMicroCents,
    heldMicroCents: row.balance.heldMicroCents,
    limits: tenantLimits(row.tenant),
    activeJobs: row.balance.activeJobs,
    spentTodayMicroCents: row.spentToday,
    lowBalanceThresholdMicroCents: row.balance.lowBalanceThresholdMicroCents,
  };
}
