import type { Context as HonoContext } from 'hono';
import type { AppEnv } from './app.ts';
import type { AuthResult } from './auth/jwt.ts';
import { authenticateHeader } from './auth/roles.ts';
import type { AppDeps } from './deps.ts';
import type { Logger } from './logger.ts';
import type { ResponseFacts } from './services/context.ts';

/**
 * The tRPC context. Split per tRPC convention: `createInnerContext` is pure and testable (tests and
 * `createCaller` pass an `auth` result directly); `createRequestContext` is the adapter part that
 * reads the Authorization header and verifies the token (an API key, an operator key or a JWT:
 * `deps.auth`, the one authentication function every route shares).
 */
export type Context = {
  deps: AppDeps;
  /** null = no Authorization header; otherwise the verification result (failures are raised lazily by role middlewares, so public procedures still work). */
  auth: AuthResult | null;
  requestId: string;
  log: Logger;
  /** Set by the REST routes only (services/context.ts `ResponseFacts`). */
  facts?: ResponseFacts | undefined;
};

export function createInnerContext(opts: {
  deps: AppDeps;
  auth: AuthResult | null;
  requestId: string;
  log: Logger;
}): Context {
  // Every line a tenant's request logs carries its (verified) tenant id: bound once here (for HTTP
  // requests and createCaller alike), not again in the role middleware (a pino child serializes its
  // bindings when created).
  // A key caller's lines also carry the key's id (never the key).
  const principal = opts.auth?.ok ? opts.auth.principal : undefined;
  const bindings = {
    ...(principal?.role === 'tenant' ? { tenantId: principal.tenantId } : {}),
    ...(principal?.key ? { keyId: principal.key.id } : {}),
  };
  const log = Object.keys(bindings).length > 0 ? opts.log.child(bindings) : opts.log;
  return { deps: opts.deps, auth: opts.auth, requestId: opts.requestId, log };
}

/**
 * The context of an HTTP request (the tRPC adapter and the REST routes): its caller verified from
 * the Authorization header, its request id and logger. The request's access log line then carries
 * the (verified) tenant id too: the request's logger becomes the context's.
 */
export async function createRequestContext(deps: AppDeps, c: HonoContext<AppEnv>): Promise<Context> {
  const auth = await authenticateHeader(deps.auth, c.req.header('authorization'));
  const ctx = createInnerContext({ deps, auth, requestId: c.get('requestId'), log: c.get('log') });
  c.set('log', ctx.log);
  return ctx;
}
