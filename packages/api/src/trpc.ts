import { sandboxTenantId } from '@tollgate/db';
import { ensureSandbox } from '@tollgate/db/ledger';
import { initTRPC } from '@trpc/server';
import type { Principal } from './auth/jwt.ts';
import {
  ADMIN_ROLE,
  FINANCE_ROLE,
  type RoleRequirement,
  requireRole,
  TENANT_ROLE,
  type TenantPrincipal,
} from './auth/roles.ts';
import {
  type KeyCheck,
  loadTenantForRequest,
  loadTenantWithPricing,
  type TenantRecord,
} from './auth/tenant.ts';
import type { Context } from './context.ts';
import { DomainError, describeTRPCError, type ErrorDetails, type Reason, toTRPCError } from './errors.ts';
import { requestIdScope } from './request-scope.ts';
import { unstorableTextPath } from './storable-text.ts';

/**
 * The only place `initTRPC` is called. Exports named base procedures only (never `t`): every
 * procedure picks its role by picking its base, so forgetting an auth check is not possible.
 */
const t = initTRPC.context<Context>().create({
  // Never send stack traces, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error, ctx }) {
    const { message, reason, details } = describeTRPCError(error);
    // Before the context exists (batch too large, content type…), the id comes from the request's scope.
    const requestId = ctx?.requestId ?? requestIdScope.getStore() ?? 'unknown';
    // One type whether or not there are details: the client reads it as `inferRouterError<AppRouter>`.
    const data: typeof shape.data & { reason: Reason; requestId: string; details?: ErrorDetails } = {
      ...shape.data,
      reason,
      requestId,
    };
    if (details !== undefined) data.details = details;
    return { ...shape, message, data };
  },
});

/** The API key a tenant request came with, for the tenant read to check (auth/tenant.ts). */
function keyCheckOf(ctx: Context, principal: Principal): KeyCheck | undefined {
  const key = principal.key;
  if (key?.kind !== 'api_key') return undefined;
  return { keyId: key.id, onUsed: () => ctx.deps.auth.recordUse(key) };
}

/**
 * First middleware of every procedure: maps a thrown DomainError (services and middlewares throw
 * those, knowing nothing of tRPC) to its tRPC code — tRPC would otherwise wrap it as a 500 — and a
 * lost database connection to 503 DATABASE_UNAVAILABLE (errors.ts `toTRPCError`), tells the
 * database breaker about it, and counts every call by path and result code (the HTTP middleware only sees the batch URL).
 */
const base = t.procedure.use(async ({ ctx, path, next }) => {
  let result = await next();
  if (!result.ok) {
    ctx.deps.dbBreaker.observe(result.error);
    // toTRPCError returns the same error when there is nothing to map.
    result = { ...result, error: toTRPCError(result.error) };
  }
  ctx.deps.metrics.trpcCalls.inc({ path, code: result.ok ? 'OK' : result.error.code });
  return result;
});

/**
 * Every procedure: an input with text Postgres cannot store (a NUL character, a lone surrogate)
 * anywhere is a 400 naming where, before any read. After the role check (a bad token is still a
 * 401, a wrong role a 403).
 */
const refuseUnstorableText = t.middleware(async ({ getRawInput, next }) => {
  const hit = unstorableTextPath(await getRawInput());
  if (hit === null) return next();
  throw new DomainError({
    reason: 'INVALID_INPUT',
    message: `Invalid input: ${hit.path || '(root)'}: ${hit.message}`,
    details: { issues: [{ path: hit.path, message: hit.message, code: 'invalid_format' }] },
  });
});

/**
 * Every procedure with a caller reads the database: while it is known to be down, refuse at once
 * (503, mapped by `base`) instead of queueing on the pool (db-breaker.ts). After the role check, so
 * a bad token is still a 401 during an outage.
 */
const refuseWhileDatabaseDown = t.middleware(({ ctx, next }) => {
  ctx.deps.dbBreaker.guard();
  return next();
});

/**
 * The procedures of one role: the caller (`ctx.principal`) is authenticated with a role `required`
 * accepts (else 401 / 403: auth/roles.ts `requireRole`, shared with the CSV routes), its input is
 * storable text, and the database is not known to be down, checked in that order.
 */
function roleProcedure<P extends Principal>(required: RoleRequirement<P>) {
  return base
    .use(async ({ ctx, next }) =>
      next({ ctx: { principal: await requireRole(ctx.deps.auth, ctx.auth, required) } }),
    )
    .use(refuseUnstorableText)
    .use(refuseWhileDatabaseDown);
}

const tenantCaller = roleProcedure(TENANT_ROLE);

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = base.use(refuseUnstorableText);

/**
 * Tenant role; `ctx.tenant` is the caller's tenant, loaded and checked active on every call. `ctx.log`
 * already carries the tenant id (createInnerContext binds it from the verified token).
 */
export const tenantProcedure = tenantCaller.use(async ({ ctx, next }) => {
  const tenant: TenantRecord = await loadBook(ctx, ctx.principal, loadTenantForRequest);
  return next({ ctx: { tenant } });
});

/**
 * The tenant row whose book a tenant request acts on: the tenant itself, or in test mode its sandbox
 * twin (`tst_…`, docs/test-mode.md), opened with $100.00 of test credit on its first use. Everything
 * downstream (holds, limits, idempotency, jobs, statements) then works on that row unchanged, so a
 * test credential can never reach live money or live jobs, and the reverse.
 */
async function loadBook<T>(
  ctx: Context,
  principal: TenantPrincipal,
  load: (db: Context['deps']['db'], tenantId: string, key: KeyCheck | undefined) => Promise<T>,
): Promise<T> {
  // The API key the caller used (if any) is checked by the same read, whichever book it opens.
  const key = keyCheckOf(ctx, principal);
  if (principal.mode !== 'test') return load(ctx.deps.db, principal.tenantId, key);
  const book = sandboxTenantId(principal.tenantId);
  try {
    return await load(ctx.deps.db, book, key);
  } catch (err) {
    if (!(err instanceof DomainError && err.reason === 'UNKNOWN_TENANT')) throw err;
  }
  // First test-mode request of this tenant: open its sandbox (once, whatever the concurrency).
  const opened = await ensureSandbox(ctx.deps.db, { liveTenantId: principal.tenantId, actor: principal.sub });
  ctx.deps.metrics.recordMoneyMovement({ op: 'ensureSandbox', result: opened });
  if (!opened.ok) {
    throw new DomainError({ reason: 'UNKNOWN_TENANT' });
  }
  return load(ctx.deps.db, book, key);
}

/**
 * Tenant role for the procedures that price a request (jobs.submit, pricing.quote): the same tenant
 * check as `tenantProcedure`, and the price overrides in force read by the same statement
 * (`ctx.pricing`, one round trip for both; nothing cached).
 */
export const pricedTenantProcedure = tenantCaller.use(async ({ ctx, next }) => {
  const { tenant, pricing } = await loadBook(ctx, ctx.principal, loadTenantWithPricing);
  return next({ ctx: { tenant, pricing } });
});

export const adminProcedure = roleProcedure(ADMIN_ROLE);

/** Finance reports: finance or admin role (the CSV routes take the same FINANCE_ROLE). */
export const financeProcedure = roleProcedure(FINANCE_ROLE);
