import { createHash, timingSafeEqual } from 'node:crypto';
import { trpcServer } from '@hono/trpc-server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { bodyLimitByHeader } from './body-limit.ts';
import { registerConsoleRoutes } from './console.ts';
import { createRequestContext } from './context.ts';
import type { AppDeps } from './deps.ts';
import {
  describeTRPCError,
  type ErrorBody,
  isDatabaseUnavailable,
  isUnexpected,
  reasonBody,
  renderHttpError,
  toTRPCError,
} from './errors.ts';
import { findInexactAmount, inexactAmountError } from './exact-amounts.ts';
import type { Logger } from './logger.ts';
import { registerReportRoutes } from './reports/routes.ts';
import { newRequestId, requestIdScope } from './request-scope.ts';
import { registerDocsRoutes } from './rest/docs.ts';
import { openApiDocument } from './rest/openapi.ts';
import { problemResponse } from './rest/problem.ts';
import { registerRestRoutes } from './rest/routes.ts';
import { appRouter } from './router.ts';
import { handlePixelbyteWebhook } from './webhooks.ts';

export type AppEnv = { Variables: { requestId: string; log: Logger } };

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request ids: a sane incoming `x-request-id` is kept (tracing across services), otherwise `req_…`. */
function requestId(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    c.set('requestId', id);
    c.set('log', deps.log.child({ requestId: id }));
    await requestIdScope.run(id, next);
    // Set after next(): handlers that return their own Response (tRPC) bypass c.header().
    c.res.headers.set('x-request-id', id);
  };
}

/** Access log + request metrics. The route label is the matched pattern (bounded cardinality); the query string (webhook tokens!) is never logged. */
function observe(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routePath(c) || 'unmatched';
    const status = c.res.status;
    deps.metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    deps.metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    // One access line per request (info; health and metrics scrapes at debug to keep logs useful).
    const level = route === '/healthz' || route === '/readyz' || route === '/metrics' ? 'debug' : 'info';
    c.var.log[level](
      { method: c.req.method, path: c.req.path, route, status, ms: Math.round(seconds * 1000) },
      'request',
    );
  };
}

/** `authorization: Bearer <expected>`, compared in constant time (digests: equal lengths). */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(expected));
}

type ErrorAnswer = { status: number; body: ErrorBody };

function errorJson({ status, body }: ErrorAnswer, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The gateway's errors outside a procedure (413, unknown route, unhandled): problem+json under /v1. */
function errorResponse(
  c: Context<AppEnv>,
  answer: ErrorAnswer,
  headers: Record<string, string> = {},
): Response {
  const path = c.req.path;
  return path === '/v1' || path.startsWith('/v1/')
    ? problemResponse(answer.body, answer.status, headers)
    : errorJson(answer, headers);
}

/**
 * Builds the gateway's Hono app (does not listen). Routes: `/trpc/*` (tRPC, httpBatchLink-compatible),
 * `/v1/*` (REST on the same procedures), `/openapi.json`, `/docs`, `POST /webhooks/pixelbyte/:jobId`,
 * `/reports/*.csv`, `/console` (the operator console), `/healthz`, `/readyz`, `/metrics`.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestId(deps));
  app.use('*', observe(deps));
  // Bodies beyond the limit are refused before any parsing or database work (413, nothing written).
  app.use(
    '*',
    bodyLimitByHeader({
      maxSize: deps.config.bodyLimitBytes,
      onError: (c) =>
        errorResponse(
          c as Context<AppEnv>,
          reasonBody(
            'BODY_TOO_LARGE',
            c.get('requestId'),
            `request body exceeds ${deps.config.bodyLimitBytes} bytes`,
          ),
        ),
    }),
  );

  // Amounts must be exact integers in the request text (exact-amounts.ts), refused before any parser
  // rounds them: here for every request body outside tRPC (tRPC's are checked in its createContext,
  // so the refusal has tRPC's error shape) but Pixelbyte's webhooks (its deliveries are only
  // triggers). The body read here is cached by Hono for the route that follows.
  app.use('*', async (c, next) => {
    const path = c.req.path;
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (path.startsWith('/trpc/') || path.startsWith('/webhooks/pixelbyte/')) return next();
    const inexact = findInexactAmount(await c.req.text());
    if (inexact) throw inexactAmountError(inexact);
    return next();
  });

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      const r = await deps.ready();
      return c.json({ ok: r.ok, ...r.details }, r.ok ? 200 : 503);
    } catch (err) {
      c.var.log.warn({ err }, 'readiness check failed');
      return c.json({ ok: false, database: 'unreachable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const token = deps.config.metricsToken;
    if (token !== undefined && !bearerMatches(c.req.header('authorization'), token)) {
      return errorJson(reasonBody('METRICS_TOKEN_REQUIRED', c.get('requestId')), {
        'www-authenticate': 'Bearer realm="metrics"',
      });
    }
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  app.post('/webhooks/pixelbyte/:jobId', async (c) => {
    // While the database is known to be down: 503 at once, and Pixelbyte retries later.
    deps.dbBreaker.guard();
    const result = await handlePixelbyteWebhook(deps, {
      jobId: c.req.param('jobId'),
      token: c.req.query('token'),
      rawBody: await c.req.text(),
      headers: c.req.raw.headers,
      requestId: c.get('requestId'),
      log: c.get('log'),
    });
    return c.json(result.body, result.status as 200);
  });

  registerReportRoutes(app, deps);
  registerConsoleRoutes(app);
  registerRestRoutes(app, deps);
  app.get('/openapi.json', (c) =>
    c.body(openApiDocument(), 200, { 'content-type': 'application/json; charset=utf-8' }),
  );
  registerDocsRoutes(app);

  // A mutation without input is sent with an empty body (httpLink); tRPC 11.22 reads a POST body
  // with req.json(), for which '' is a parse error (MALFORMED_JSON). An empty body is no input: read
  // it as JSON `null`, which tRPC passes to a procedure without an input parser as no input.
  app.use('/trpc/*', async (c, next) => {
    if (c.req.method === 'POST' && (await c.req.text()) === '')
      (c.req.bodyCache as unknown as { text?: Promise<string> }).text = Promise.resolve('null');
    return next();
  });
  app.use(
    '/trpc/*',
    trpcServer({
      endpoint: '/trpc',
      router: appRouter,
      maxBatchSize: 50,
      createContext: async (_opts, c) => {
        // The text tRPC parsed (Hono caches the body), or a query's `input`: amounts must be exact.
        const text = c.req.method === 'GET' ? c.req.query('input') : await c.req.text();
        const inexact = text === undefined ? undefined : findInexactAmount(text);
        if (inexact) throw toTRPCError(inexactAmountError(inexact));
        return createRequestContext(deps, c);
      },
      onError({ error, path, ctx }) {
        if (isUnexpected(error)) {
          (ctx?.log ?? deps.log).error({ err: error.cause ?? error, path }, 'unhandled error in procedure');
        } else if (isDatabaseUnavailable(error.cause)) {
          (ctx?.log ?? deps.log).warn({ err: error.cause, path }, 'database unavailable');
        }
      },
      responseMeta({ errors }) {
        // Tell clients when to come back (tenant limits and upstream 429 carry retryAfterSeconds).
        for (const e of errors) {
          const retry = describeTRPCError(e).details?.retryAfterSeconds;
          if (typeof retry === 'number')
            return { headers: { 'retry-after': String(Math.max(0, Math.ceil(retry))) } };
        }
        return {};
      },
    }),
  );

  app.notFound((c) =>
    errorResponse(
      c,
      reasonBody('ROUTE_NOT_FOUND', c.get('requestId'), `no route ${c.req.method} ${c.req.path}`),
    ),
  );
  app.onError((err, c) => {
    deps.dbBreaker.observe(err);
    const { status, body, headers } = renderHttpError(
      err,
      c.get('requestId') ?? 'unknown',
      c.get('log') ?? deps.log,
    );
    return errorResponse(c, { status, body }, headers);
  });
  return app;
}
