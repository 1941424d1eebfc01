// The REST API (`/v1`, product.md "REST API for any language"). Each route is a thin adapter: HTTP in
// (path, query, JSON body, Idempotency-Key) → the tRPC procedure of the same flow, called in-process
// through `createCaller` → HTTP out. So REST runs the same auth (createRequestContext), role checks,
// tenant load, zod input schema, services and DomainError → tRPC mapping as tRPC does; nothing of a
// flow is written twice. Errors are rendered by errors.ts `renderHttpError` as RFC 9457 problems.
import { getRateWindow } from '@tollgate/db/ledger';
import { TRPCError } from '@trpc/server';
import type { Hono, Context as HonoContext } from 'hono';
import type { AppEnv } from '../app.ts';
import { createRequestContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { DomainError, isDatabaseUnavailable, renderHttpError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { appRouter } from '../router.ts';
import type { ResponseFacts } from '../services/context.ts';
import { createCallerFactory } from '../trpc.ts';
import { problemResponse } from './problem.ts';

const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;
type RequestContext = Awaited<ReturnType<typeof createRequestContext>>;

type Call = { c: HonoContext<AppEnv>; caller: Caller; facts: ResponseFacts; ctx: RequestContext };
type Answer = { status: 200 | 201; body: unknown; headers?: Record<string, string> };

/** `application/json`, or any `+json` type (`application/merge-patch+json`…), with parameters. */
const JSON_CONTENT_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * The JSON body, or undefined when there is none (the procedure's schema then says what is missing).
 * Refusals match tRPC's: another content type → 415 UNSUPPORTED_MEDIA_TYPE, unparsable JSON → 400
 * MALFORMED_JSON. A body over the limit never gets here (app.ts, 413).
 */
async function jsonBody(c: HonoContext<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text === '') return undefined;
  const type = c.req.header('content-type');
  if (type !== undefined && !JSON_CONTENT_TYPE.test(type)) {
    throw new DomainError({
      reason: 'UNSUPPORTED_MEDIA_TYPE',
      message: `send the body as application/json (got ${type.slice(0, 100)})`,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // BAD_REQUEST, not tRPC's PARSE_ERROR: the REST answer has always said so (both are 400).
    throw new DomainError({ reason: 'MALFORMED_JSON', code: 'BAD_REQUEST', cause: err });
  }
}

/** Query parameters whose schema is a number: a string of digits becomes that number (else zod says why). */
const NUMERIC_QUERY_PARAMS = new Set(['limit']);

/**
 * The query string as the procedure's input object. A parameter given twice becomes an array, which
 * the schema refuses (never silently the first or the last one); unknown parameters are refused by
 * the strict schema, as unknown fields are in tRPC.
 */
function queryInput(c: HonoContext<AppEnv>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    const typed = values.map((v) =>
      NUMERIC_QUERY_PARAMS.has(key) && /^-?\d{1,15}$/.test(v) ? Number(v) : v,
    );
    input[key] = typed.length === 1 ? typed[0] : typed;
  }
  return input;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RateLimit-Limit / -Remaining / -Reset (seconds) for a tenant with a requests-per-minute limit, on
 * the responses of `POST /v1/jobs` (the only requests that limit counts) once the submit reached the
 * service (not on a 401/403 or a schema error). A 429 RATE_LIMIT carries them in its details;
 * otherwise the window is read after the submit (one primary-key read, only for such tenants: the
 * limit itself comes with the tenant row every submit reads). Not sent when that read fails (the
 * headers are advice, not the answer).
 */
async function rateLimitHeaders(
  deps: AppDeps,
  ctx: RequestContext,
  facts: ResponseFacts,
  error: unknown,
  log: Logger,
): Promise<Record<string, string>> {
  const domain =
    error instanceof DomainError
      ? error
      : error instanceof TRPCError && error.cause instanceof DomainError
        ? error.cause
        : undefined;
  if (domain?.reason === 'RATE_LIMIT') {
    const { limit, retryAfterSeconds } = domain.details ?? {};
    if (typeof limit === 'number' && typeof retryAfterSeconds === 'number') {
      return headersOf(limit, 0, retryAfterSeconds);
    }
  }
  if (typeof facts.requestsPerMinute !== 'number') return {};
  if (!ctx.auth?.ok || ctx.auth.principal.role !== 'tenant' || isDatabaseUnavailable(error)) return {};
  try {
    const w = await getRateWindow(deps.db, ctx.auth.principal.tenantId);
    return w === null ? {} : headersOf(w.limit, Math.max(0, w.limit - w.used), w.resetSeconds);
  } catch (err) {
    log.warn({ err }, 'could not read the rate window for the RateLimit headers');
    return {};
  }
}

function headersOf(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  return {
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(remaining),
    'ratelimit-reset': String(resetSeconds),
  };
}

/**
 * One REST route: the request's tRPC context (the same authentication function as tRPC), a caller on
 * it, and errors rendered as problems. `rateLimited`: the route's requests count against the tenant's
 * requests-per-minute limit, so its responses carry the RateLimit headers.
 */
function route(
  deps: AppDeps,
  handler: (call: Call) => Promise<Answer>,
  opts: { rateLimited?: boolean } = {},
) {
  return async (c: HonoContext<AppEnv>): Promise<Response> => {
    const ctx = await createRequestContext(deps, c);
    const facts: ResponseFacts = {};
    try {
      const answer = await handler({ c, caller: createCaller({ ...ctx, facts }), facts, ctx });
      const limits = opts.rateLimited ? await rateLimitHeaders(deps, ctx, facts, undefined, ctx.log) : {};
      return c.json(answer.body as object, answer.status, { ...answer.headers, ...limits });
    } catch (err) {
      const rendered = renderHttpError(err, c.get('requestId'), ctx.log);
      const limits = opts.rateLimited ? await rateLimitHeaders(deps, ctx, facts, err, ctx.log) : {};
      return problemResponse(rendered.body, rendered.status, { ...rendered.headers, ...limits });
    }
  };
}

/** The procedure validates its input (zod): what the request carried is handed over as it came. */
function unchecked<T>(input: unknown): T {
  return input as T;
}

/** `/v1`: the routes of product.md "REST API for any language". */
export function registerRestRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  app.post(
    '/v1/jobs',
    route(
      deps,
      async ({ c, caller, facts, ctx }) => {
        const body = await jsonBody(c);
        // Checked once the caller is known to be a tenant, so an unauthenticated request is still a 401.
        const tenant = ctx.auth?.ok === true && ctx.auth.principal.role === 'tenant';
        if (tenant && isPlainObject(body) && 'idempotencyKey' in body) {
          throw new DomainError({
            reason: 'INVALID_INPUT',
            message: 'Invalid input: idempotencyKey: send it as the Idempotency-Key header',
            details: {
              issues: [
                {
                  path: 'idempotencyKey',
                  message: 'send it as the Idempotency-Key header',
                  code: 'unrecognized_keys',
                },
              ],
            },
          });
        }
        const key = c.req.header('idempotency-key');
        const input = key !== undefined && isPlainObject(body) ? { ...body, idempotencyKey: key } : body;
        const job = await caller.jobs.submit(unchecked(input));
        // A replay answers 200 with the job the key first made; a new job 201 with its location.
        if (facts.replayed) return { status: 200, body: job };
        return { status: 201, body: job, headers: { location: `/v1/jobs/${job.id}` } };
      },
      { rateLimited: true },
    ),
  );
  app.get(
    '/v1/jobs',
    route(deps, async ({ c, caller }) => ({
      status: 200,
      body: await caller.jobs.list(unchecked(queryInput(c))),
    })),
  );
  app.get(
    '/v1/jobs/:id',
    route(deps, async ({ c, caller }) => ({
      status: 200,
      body: await caller.jobs.get(unchecked({ id: c.req.param('id') })),
    })),
  );
  app.post(
    '/v1/jobs/:id/cancel',
    route(deps, async ({ c, caller }) => ({
      status: 200,
      body: await caller.jobs.cancel(unchecked({ id: c.req.param('id') })),
    })),
  );
  app.post(
    '/v1/quote',
    route(deps, async ({ c, caller }) => ({
      status: 200,
      body: await caller.pricing.quote(unchecked(await jsonBody(c))),
    })),
  );
  app.get(
    '/v1/models',
    route(deps, async ({ caller }) => ({ status: 200, body: await caller.models.list() })),
  );
  app.get(
    '/v1/account',
    route(deps, async ({ caller }) => ({ status: 200, body: await caller.account.get() })),
  );
  app.get(
    '/v1/account/ledger',
    route(deps, async ({ c, caller }) => ({
      status: 200,
      body: await caller.account.ledger(unchecked(queryInput(c))),
    })),
  );
}
