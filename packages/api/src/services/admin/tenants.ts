import { auditLog, type Tenant, type TenantBalance, tenantBalances, tenants } from '@tollgate/db';
import {
  createTenant,
  getAccount,
  getTenant,
  newWebhookSecret,
  setTenantStatus,
  type TenantLimits,
  tenantLimits,
  updateTenant,
} from '@tollgate/db/ledger';
import { and, desc, eq, gte, ilike, lte, sql } from 'drizzle-orm';
import { signToken } from '../../auth/jwt.ts';
import { DomainError } from '../../errors.ts';
import { type LimitsView, toLimitsView } from '../account.ts';
import type { PrincipalCtx } from '../context.ts';
import { toWireAmount } from '../wire.ts';
import { cursorTime, decodeCursor, pageOf } from './cursor.ts';

export type TenantView = {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  markupBps: number;
  limits: LimitsView;
  webhookUrl: string | null;
  createdAt: string;
  updatedAt: string;
};

export function toTenantView(t: Tenant): TenantView {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    markupBps: t.markupBps,
    limits: toLimitsView(tenantLimits(t)),
    webhookUrl: t.webhookUrl,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export async function createTenantAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    name: string;
    markupBps?: number | undefined;
    limits?:
      | {
          maxConcurrentJobs?: number | null | undefined;
          dailySpendLimitMicroCents?: bigint | null | undefined;
          requestsPerMinute?: number | null | undefined;
        }
      | undefined;
    webhookUrl?: string | undefined;
    lowBalanceThresholdMicroCents?: bigint | null | undefined;
  };
}): Promise<TenantView & { lowBalanceThresholdMicroCents: number | null; webhookSecret: string | null }> {
  const limits: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.limits ?? {})) if (v !== undefined) limits[k] = v;
  const tenant = await createTenant(ctx.deps.db, {
    name: input.name,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
    ...(input.markupBps === undefined ? {} : { markupBps: input.markupBps }),
    ...(input.limits === undefined ? {} : { limits }),
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
    ...(input.lowBalanceThresholdMicroCents === undefined
      ? {}
      : { lowBalanceThresholdMicroCents: input.lowBalanceThresholdMicroCents }),
  });
  // The tenant's webhook signing secret is shown once, at creation (never in lists or audits).
  return {
    ...toTenantView(tenant),
    lowBalanceThresholdMicroCents: thresholdView(tenant.lowBalanceThresholdMicroCents),
    webhookSecret: tenant.webhookSecret,
  };
}

const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86_400;

/**
 * Issues an HS256 tenant token signed with JWT_SECRET. Audited (who issued which token, by `jti`,
 * never the token itself). Only possible when the gateway holds a signing secret: with JWKS-only
 * auth, tokens come from the identity provider.
 */
export async function issueTenantToken({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    tenantId: string;
    ttlSeconds?: number | undefined;
    sub?: string | undefined;
    mode?: 'live' | 'test' | undefined;
  };
}): Promise<{ token: string; tokenId: string; tenantId: string; expiresAt: string; livemode: boolean }> {
  const { jwt } = ctx.deps.config;
  if (!jwt.signingSecret) {
    throw new DomainError({ reason: 'TOKEN_SIGNING_UNAVAILABLE' });
  }
  const tenant = activeTenant(await getTenant(ctx.deps.db, input.tenantId), input.tenantId, 'issue a token');
  const sub = input.sub ?? `tenant:${tenant.id}`;
  const signed = await signToken({
    secret: jwt.signingSecret,
    issuer: jwt.issuer,
    audience: jwt.audience,
    principal: {
      role: 'tenant',
      tenantId: tenant.id,
      sub,
      ...(input.mode === 'test' ? { mode: 'test' as const } : {}),
    },
    expiresInSeconds: input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
  });
  // Not money: the audit row is written here directly (the ledger package keeps writeAudit internal).
  await ctx.deps.db.insert(auditLog).values({
    actor: ctx.principal.sub,
    action: 'tenant.issue_token',
    targetType: 'tenant',
    targetId: tenant.id,
    after: {
      jti: signed.jti,
      sub,
      expiresAt: signed.expiresAt.toISOString(),
      ...(input.mode === 'test' ? { mode: 'test' } : {}),
    },
    requestId: ctx.requestId,
  });
  return {
    token: signed.token,
    tokenId: signed.jti,
    tenantId: tenant.id,
    expiresAt: signed.expiresAt.toISOString(),
    livemode: input.mode !== 'test',
  };
}

/** A tenant with its balances, as admins see it in `list` / `get`. */
export type TenantWithBalanceView = TenantView & {
  availableMicroCents: number;
  heldMicroCents: number;
  activeJobs: number;
  /** balance.low webhook threshold; null = none. */
  lowBalanceThresholdMicroCents: number | null;
};

const thresholdView = (v: bigint | null): number | null => (v === null ? null : toWireAmount(v));

type TenantRow = { tenant: Tenant; balance: TenantBalance; ts: string };

function withBalance(r: TenantRow): TenantWithBalanceView {
  return {
    ...toTenantView(r.tenant),
    availableMicroCents: toWireAmount(r.balance.availableMicroCents),
    heldMicroCents: toWireAmount(r.balance.heldMicroCents),
    activeJobs: r.balance.activeJobs,
    lowBalanceThresholdMicroCents: thresholdView(r.balance.lowBalanceThresholdMicroCents),
  };
}

export const tenantNotFound = (tenantId: string) =>
  new DomainError({ reason: 'TENANT_NOT_FOUND', message: `tenant ${tenantId} not found` });

/**
 * The tenant a credential is made for (a token, an API key): TENANT_NOT_FOUND without its row,
 * 412 TENANT_SUSPENDED while it is suspended (`cannot <what> for a suspended tenant`).
 */
export function activeTenant<T extends { status: string }>(
  tenant: T | undefined,
  tenantId: string,
  what: string,
): T {
  if (!tenant) throw tenantNotFound(tenantId);
  if (tenant.status !== 'active') {
    throw new DomainError({
      code: 'PRECONDITION_FAILED',
      reason: 'TENANT_SUSPENDED',
      message: `cannot ${what} for a suspended tenant`,
    });
  }
  return tenant;
}

/**
 * Tenants newest first with their balances; filters: status, name (case-insensitive substring),
 * `minAvailableMicroCents` / `maxAvailableMicroCents` (e.g. "who is about to run dry").
 */
export async function listTenantsAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    status?: 'active' | 'suspended' | undefined;
    name?: string | undefined;
    minAvailableMicroCents?: bigint | undefined;
    maxAvailableMicroCents?: bigint | undefined;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: TenantWithBalanceView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const pattern =
    input.name === undefined ? undefined : `%${input.name.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
  const page = await ctx.deps.db
    .select({
      tenant: tenants,
      balance: tenantBalances,
      ts: cursorTime(tenants.createdAt),
    })
    .from(tenants)
    .innerJoin(tenantBalances, eq(tenantBalances.tenantId, tenants.id))
    .where(
      and(
        input.status === undefined ? undefined : eq(tenants.status, input.status),
        pattern === undefined ? undefined : ilike(tenants.name, pattern),
        input.minAvailableMicroCents === undefined
          ? undefined
          : gte(tenantBalances.availableMicroCents, input.minAvailableMicroCents),
        input.maxAvailableMicroCents === undefined
          ? undefined
          : lte(tenantBalances.availableMicroCents, input.maxAvailableMicroCents),
        cursor
          ? sql`(${tenants.createdAt}, ${tenants.id}) < (${cursor.ts}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(input.limit + 1);
  const { page: items, nextCursor } = pageOf(page, input.limit, (r) => ({ ts: r.ts, id: r.tenant.id }));
  return { items: items.map(withBalance), nextCursor };
}

export async function getTenantAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string };
}): Promise<TenantWithBalanceView & { spentTodayMicroCents: number; webhookSecret: string | null }> {
  const [row] = await ctx.deps.db
    .select({ tenant: tenants, balance: tenantBalances, ts: sql<string>`''` })
    .from(tenants)
    .innerJoin(tenantBalances, eq(tenantBalances.tenantId, tenants.id))
    .where(eq(tenants.id, input.tenantId));
  const account = row ? await getAccount(ctx.deps.db, input.tenantId) : undefined;
  if (!row || !account) throw tenantNotFound(input.tenantId);
  return {
    ...withBalance(row),
    spentTodayMicroCents: toWireAmount(account.spentTodayMicroCents),
    // Admin only (this procedure is adminProcedure); never in lists, audits or logs.
    webhookSecret: row.tenant.webhookSecret,
  };
}

/** How long the replaced secret keeps signing beside the new one when the caller does not say. */
export const DEFAULT_WEBHOOK_SECRET_GRACE_MS = 24 * 3_600_000;

/**
 * Replaces the tenant's webhook signing secret. The replaced secret keeps signing beside the new one
 * (two `v1,` signatures in `webhook-signature`, Standard Webhooks rotation) until the grace period
 * ends, so a receiver can switch secrets without rejecting a delivery: `graceSeconds`, else
 * TENANT_WEBHOOK_SECRET_GRACE (24 h); 0 ends the old secret at once (after a leak). Only the latest
 * replaced secret is kept: rotating again within the grace drops the older one. Deliveries signed
 * from now on use the new secret (the worker reads it at send time), retries of older deliveries
 * included. One audit row in the same transaction; it records THAT the secret was rotated, never it.
 */
export async function rotateWebhookSecretAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; graceSeconds?: number | undefined };
}): Promise<{
  tenantId: string;
  webhookSecret: string;
  rotatedAt: string;
  previousSecretExpiresAt: string | null;
}> {
  const webhookSecret = newWebhookSecret();
  const graceSeconds =
    input.graceSeconds ?? (ctx.deps.config.webhookSecretGraceMs ?? DEFAULT_WEBHOOK_SECRET_GRACE_MS) / 1000;
  const updated = await ctx.deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(tenants)
      .set({
        webhookSecret,
        // The right-hand sides read the row as it was: the outgoing secret becomes the previous one.
        previousWebhookSecret: graceSeconds > 0 ? sql`${tenants.webhookSecret}` : null,
        previousWebhookSecretExpiresAt:
          graceSeconds > 0 ? sql`now() + make_interval(secs => ${graceSeconds})` : null,
        updatedAt: sql`now()`,
      })
      .where(eq(tenants.id, input.tenantId))
      .returning({
        id: tenants.id,
        updatedAt: tenants.updatedAt,
        previousExpiresAt: tenants.previousWebhookSecretExpiresAt,
      });
    if (!row) return null;
    await tx.insert(auditLog).values({
      actor: ctx.principal.sub,
      action: 'tenant.rotate_webhook_secret',
      targetType: 'tenant',
      targetId: row.id,
      after: { webhookSecret: 'rotated', graceSeconds },
      requestId: ctx.requestId,
    });
    return row;
  });
  if (!updated) throw tenantNotFound(input.tenantId);
  return {
    tenantId: updated.id,
    webhookSecret,
    rotatedAt: updated.updatedAt.toISOString(),
    previousSecretExpiresAt: updated.previousExpiresAt?.toISOString() ?? null,
  };
}

export type LimitsInput = {
  maxConcurrentJobs?: number | null | undefined;
  dailySpendLimitMicroCents?: bigint | null | undefined;
  requestsPerMinute?: number | null | undefined;
};

/** Changes name, markup, limits (null = unlimited) or webhook URL (null = none). One audit row, same transaction. */
export async function updateTenantAsAdmin({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    tenantId: string;
    name?: string | undefined;
    markupBps?: number | undefined;
    limits?: LimitsInput | undefined;
    webhookUrl?: string | null | undefined;
    lowBalanceThresholdMicroCents?: bigint | null | undefined;
  };
}): Promise<TenantView & { lowBalanceThresholdMicroCents: number | null }> {
  const limits: Partial<TenantLimits> = {};
  if (input.limits?.maxConcurrentJobs !== undefined)
    limits.maxConcurrentJobs = input.limits.maxConcurrentJobs;
  if (input.limits?.dailySpendLimitMicroCents !== undefined)
    limits.dailySpendLimitMicroCents = input.limits.dailySpendLimitMicroCents;
  if (input.limits?.requestsPerMinute !== undefined)
    limits.requestsPerMinute = input.limits.requestsPerMinute;
  const r = await updateTenant(ctx.deps.db, {
    tenantId: input.tenantId,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
    limits,
    ...(input.name === undefined ? {} : { name: input.name }),
    ...(input.markupBps === undefined ? {} : { markupBps: input.markupBps }),
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
    ...(input.lowBalanceThresholdMicroCents === undefined
      ? {}
      : { lowBalanceThresholdMicroCents: input.lowBalanceThresholdMicroCents }),
  });
  if (!r.ok) throw tenantNotFound(input.tenantId);
  return {
    ...toTenantView(r.tenant),
    lowBalanceThresholdMicroCents: thresholdView(r.lowBalanceThresholdMicroCents),
  };
}

/** Suspend (tokens refused at once, no new holds; money already held still settles) or reactivate. Audited. */
export async function setTenantStatusAsAdmin({
  ctx,
  input,
  status,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; reason?: string | undefined };
  status: 'active' | 'suspended';
}): Promise<TenantView> {
  const r = await setTenantStatus(ctx.deps.db, {
    tenantId: input.tenantId,
    status,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
  });
  if (!r.ok) throw tenantNotFound(input.tenantId);
  return toTenantView(r.tenant);
}
