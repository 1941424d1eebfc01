import {
  type ApiKey,
  apiKeys,
  auditLog,
  type KeyMode,
  newId,
  type OperatorKey,
  operatorKeys,
  publicTenantId,
  tenants,
} from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Mode } from '../auth/jwt.ts';
import { generateKey } from '../auth/keys.ts';
import { DomainError } from '../errors.ts';
import { cursorTime, decodeCursor, pageOf } from './admin/cursor.ts';
import { activeTenant } from './admin/tenants.ts';
import type { PrincipalCtx, TenantCtx } from './context.ts';

/**
 * Tenant API keys and operator keys (product.md "Credentials"). A key is shown once, in the answer
 * of `create`; lists, audit rows and logs only ever carry its id, name and 12-character prefix.
 * Every create and every revoke writes one audit row in the same transaction. Rows are never deleted.
 */

/** A tenant API key as listed (never the key or its hash). */
export type ApiKeyView = {
  id: string;
  tenantId: string;
  name: string;
  mode: KeyMode;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
};

/** An operator key as listed (never the key or its hash). */
export type OperatorKeyView = {
  id: string;
  name: string;
  role: 'admin' | 'finance';
  prefix: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
};

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toApiKeyView(k: ApiKey): ApiKeyView {
  return {
    id: k.id,
    tenantId: k.tenantId,
    name: k.name,
    mode: k.mode,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: iso(k.lastUsedAt),
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
  };
}

function toOperatorKeyView(k: OperatorKey): OperatorKeyView {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    prefix: k.prefix,
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: iso(k.lastUsedAt),
    expiresAt: iso(k.expiresAt),
    revokedAt: iso(k.revokedAt),
  };
}

/** An expiry must lie ahead (the gateway's clock): a key born expired is a mistake, not a key. */
function checkExpiry(expiresAt: Date | undefined): void {
  if (expiresAt !== undefined && expiresAt.getTime() <= Date.now()) {
    throw new DomainError({
      reason: 'INVALID_INPUT',
      message: 'Invalid input: expiresAt: must be in the future',
      details: { issues: [{ path: 'expiresAt', message: 'must be in the future', code: 'custom' }] },
    });
  }
}

const keyNotFound = (id: string) =>
  new DomainError({ reason: 'KEY_NOT_FOUND', message: `key ${id} not found` });

/**
 * The key modes a caller may manage: a test-mode caller (a `tg_test_` key or a test JWT) only test
 * keys, so a sandbox credential can never mint or revoke a live one; a live caller both.
 */
export function manageableModes(mode: Mode): KeyMode[] {
  return mode === 'test' ? ['test'] : ['live', 'test'];
}

// ---------------------------------------------------------------- tenant API keys

export async function createApiKey({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { tenantId: string; name: string; mode: KeyMode; expiresAt?: Date | undefined };
}): Promise<ApiKeyView & { key: string }> {
  if (!manageableModes(ctx.principal.mode).includes(input.mode)) {
    throw new DomainError({ reason: 'TEST_MODE_CREDENTIAL' });
  }
  checkExpiry(input.expiresAt);
  const generated = generateKey(input.mode);
  const id = newId('key');
  const row = await ctx.deps.db.transaction(async (tx) => {
    // Locks the tenant row: a key is never created for a tenant being suspended at the same moment.
    const [tenant] = await tx
      .select({ status: tenants.status })
      .from(tenants)
      .where(eq(tenants.id, input.tenantId))
      .for('share');
    activeTenant(tenant, input.tenantId, 'create a key');
    const [created] = await tx
      .insert(apiKeys)
      .values({
        id,
        tenantId: input.tenantId,
        name: input.name,
        mode: input.mode,
        prefix: generated.prefix,
        keyHash: generated.hash,
        createdBy: ctx.principal.sub,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    if (!created) throw new Error('insert into api_keys returned no row');
    await tx.insert(auditLog).values({
      actor: ctx.principal.sub,
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: id,
      after: {
        tenantId: input.tenantId,
        name: input.name,
        mode: input.mode,
        prefix: generated.prefix,
        expiresAt: iso(input.expiresAt ?? null),
      },
      requestId: ctx.requestId,
    });
    return created;
  });
  return { ...toApiKeyView(row), key: generated.key };
}

export async function listApiKeys({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: {
    tenantId: string;
    modes: KeyMode[];
    includeRevoked: boolean;
    cursor?: string | undefined;
    limit: number;
  };
}): Promise<{ items: ApiKeyView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select({ key: apiKeys, ts: cursorTime(apiKeys.createdAt) })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.tenantId, input.tenantId),
        inArray(apiKeys.mode, input.modes),
        input.includeRevoked ? undefined : isNull(apiKeys.revokedAt),
        cursor
          ? sql`(${apiKeys.createdAt}, ${apiKeys.id}) < (${cursor.ts}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(input.limit + 1);
  const { page, nextCursor } = pageOf(rows, input.limit, (r) => ({ ts: r.ts, id: r.key.id }));
  return { items: page.map((r) => toApiKeyView(r.key)), nextCursor };
}

/**
 * Revokes a tenant API key (idempotent: revoking a revoked key answers it as it is, no second audit
 * row). `tenantId` scopes the search (a tenant's own keys): another tenant's key is NOT_FOUND.
 */
export async function revokeApiKey({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { id: string; tenantId?: string | undefined; modes: KeyMode[] };
}): Promise<ApiKeyView> {
  const scope = and(
    eq(apiKeys.id, input.id),
    input.tenantId === undefined ? undefined : eq(apiKeys.tenantId, input.tenantId),
    inArray(apiKeys.mode, input.modes),
  );
  const row = await ctx.deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(scope, isNull(apiKeys.revokedAt)))
      .returning();
    if (!revoked) {
      const [existing] = await tx.select().from(apiKeys).where(scope);
      if (!existing) throw keyNotFound(input.id);
      return existing;
    }
    await tx.insert(auditLog).values({
      actor: ctx.principal.sub,
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: revoked.id,
      before: { revokedAt: null },
      after: { tenantId: revoked.tenantId, name: revoked.name, revokedAt: iso(revoked.revokedAt) },
      requestId: ctx.requestId,
    });
    return revoked;
  });
  // This instance refuses the key from now on; the others within KEY_CACHE_TTL_MS.
  ctx.deps.auth.forgetKeys();
  return toApiKeyView(row);
}

/** `account.keys.*`: the caller's own tenant, in the modes its credential may manage. */
export const accountKeys = {
  create: (
    { ctx, input }: { ctx: TenantCtx; input: { name: string; mode: KeyMode; expiresAt?: Date | undefined } }, // A tenant's keys hang on the tenant itself (its live id), in test mode too (ctx.tenant is then its sandbox).
  ) => createApiKey({ ctx, input: { ...input, tenantId: publicTenantId(ctx.tenant.id) } }),
  list: ({
    ctx,
    input,
  }: {
    ctx: TenantCtx;
    input: { includeRevoked: boolean; cursor?: string | undefined; limit: number };
  }) =>
    listApiKeys({
      ctx,
      input: {
        ...input,
        tenantId: publicTenantId(ctx.tenant.id),
        modes: manageableModes(ctx.principal.mode),
      },
    }),
  revoke: ({ ctx, input }: { ctx: TenantCtx; input: { id: string } }) =>
    revokeApiKey({
      ctx,
      input: {
        id: input.id,
        tenantId: publicTenantId(ctx.tenant.id),
        modes: manageableModes(ctx.principal.mode),
      },
    }),
};

// ---------------------------------------------------------------- operator keys

/**
 * Creates an operator key and its audit row (one transaction). Plain `db`, so the bootstrap command
 * (operators-bootstrap.ts), which has no gateway around it, creates keys exactly as the procedure does.
 */
export async function insertOperatorKey(
  db: Db,
  input: {
    name: string;
    role: 'admin' | 'finance';
    expiresAt?: Date | undefined;
    actor: string;
    requestId: string | null;
  },
): Promise<OperatorKeyView & { key: string }> {
  checkExpiry(input.expiresAt);
  const generated = generateKey('operator');
  const id = newId('opk');
  const row = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(operatorKeys)
      .values({
        id,
        name: input.name,
        role: input.role,
        prefix: generated.prefix,
        keyHash: generated.hash,
        createdBy: input.actor,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    if (!created) throw new Error('insert into operator_keys returned no row');
    await tx.insert(auditLog).values({
      actor: input.actor,
      action: 'operator_key.create',
      targetType: 'operator_key',
      targetId: id,
      after: {
        name: input.name,
        role: input.role,
        prefix: generated.prefix,
        expiresAt: iso(input.expiresAt ?? null),
      },
      requestId: input.requestId,
    });
    return created;
  });
  return { ...toOperatorKeyView(row), key: generated.key };
}

export function createOperatorKey({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { name: string; role: 'admin' | 'finance'; expiresAt?: Date | undefined };
}): Promise<OperatorKeyView & { key: string }> {
  return insertOperatorKey(ctx.deps.db, { ...input, actor: ctx.principal.sub, requestId: ctx.requestId });
}

export async function listOperatorKeys({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { includeRevoked: boolean; cursor?: string | undefined; limit: number };
}): Promise<{ items: OperatorKeyView[]; nextCursor: string | null }> {
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select({ key: operatorKeys, ts: cursorTime(operatorKeys.createdAt) })
    .from(operatorKeys)
    .where(
      and(
        input.includeRevoked ? undefined : isNull(operatorKeys.revokedAt),
        cursor
          ? sql`(${operatorKeys.createdAt}, ${operatorKeys.id}) < (${cursor.ts}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(operatorKeys.createdAt), desc(operatorKeys.id))
    .limit(input.limit + 1);
  const { page, nextCursor } = pageOf(rows, input.limit, (r) => ({ ts: r.ts, id: r.key.id }));
  return { items: page.map((r) => toOperatorKeyView(r.key)), nextCursor };
}

/** Revokes an operator key (idempotent like revokeApiKey). An admin may revoke its own key. */
export async function revokeOperatorKey({
  ctx,
  input,
}: {
  ctx: PrincipalCtx;
  input: { id: string };
}): Promise<OperatorKeyView> {
  const row = await ctx.deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(operatorKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(operatorKeys.id, input.id), isNull(operatorKeys.revokedAt)))
      .returning();
    if (!revoked) {
      const [existing] = await tx.select().from(operatorKeys).where(eq(operatorKeys.id, input.id));
      if (!existing) throw keyNotFound(input.id);
      return existing;
    }
    await tx.insert(auditLog).values({
      actor: ctx.principal.sub,
      action: 'operator_key.revoke',
      targetType: 'operator_key',
      targetId: revoked.id,
      before: { revokedAt: null },
      after: { name: revoked.name, role: revoked.role, revokedAt: iso(revoked.revokedAt) },
      requestId: ctx.requestId,
    });
    return revoked;
  });
  ctx.deps.auth.forgetKeys();
  return toOperatorKeyView(row);
}
