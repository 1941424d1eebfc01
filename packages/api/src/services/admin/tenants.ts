import { auditLog, type Tenant } from '@tollgate/db';
import { createTenant, getTenant, tenantLimits } from '@tollgate/db/ledger';
import { signToken } from '../../auth/jwt.ts';
import { DomainError } from '../../errors.ts';
import { type LimitsView, toLimitsView } from '../account.ts';
import type { PrincipalCtx } from '../context.ts';

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
  };
}): Promise<TenantView & { webhookSecret: string | null }> {
  const limits: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.limits ?? {})) if (v !== undefined) limits[k] = v;
  const tenant = await createTenant(ctx.deps.db, {
    name: input.name,
    actor: ctx.principal.sub,
    requestId: ctx.requestId,
    ...(input.markupBps === undefined ? {} : { markupBps: input.markupBps }),
    ...(input.limits === undefined ? {} : { limits }),
    ...(input.webhookUrl === undefined ? {} : { webhookUrl: input.webhookUrl }),
  });
  // The tenant's webhook signing secret is shown once, at creation (never in lists or audits).
  return { ...toTenantView(tenant), webhookSecret: tenant.webhookSecret };
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
  input: { tenantId: string; expiresInSeconds?: number | undefined; sub?: string | undefined };
}): Promise<{ token: string; tokenId: string; tenantId: string; expiresAt: string }> {
  const { jwt } = ctx.deps.config;
  if (!jwt.signingSecret) {
    throw new DomainError({
      code: 'PRECONDITION_FAILED',
      reason: 'TOKEN_SIGNING_UNAVAILABLE',
      message: 'this gateway has no JWT_SECRET; tenant tokens come from the identity provider',
    });
  }
  const tenant = await getTenant(ctx.deps.db, input.tenantId);
  if (!tenant)
    throw new DomainError({
      code: 'NOT_FOUND',
      reason: 'TENANT_NOT_FOUND',
      message: `tenant ${input.tenantId} not found`,
    });
  if (tenant.status !== 'active') {
    throw new DomainError({
      code: 'PRECONDITION_FAILED',
      reason: 'TENANT_SUSPENDED',
      message: 'cannot issue a token for a suspended tenant',
    });
  }
  const sub = input.sub ?? `tenant:${tenant.id}`;
  const signed = await signToken({
    secret: jwt.signingSecret,
    issuer: jwt.issuer,
    audience: jwt.audience,
    principal: { role: 'tenant', tenantId: tenant.id, sub },
    expiresInSeconds: input.expiresInSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
  });
  // Not money: the audit row is written here directly (the ledger package keeps writeAudit internal).
  await ctx.deps.db.insert(auditLog).values({
    actor: ctx.principal.sub,
    action: 'tenant.issue_token',
    targetType: 'tenant',
    targetId: tenant.id,
    after: { jti: signed.jti, sub, expiresAt: signed.expiresAt.toISOString() },
    requestId: ctx.requestId,
  });
  return {
    token: signed.token,
    tokenId: signed.jti,
    tenantId: tenant.id,
    expiresAt: signed.expiresAt.toISOString(),
  };
}
