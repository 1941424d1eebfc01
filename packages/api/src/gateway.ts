import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { IN_FLIGHT_JOB_STATUSES, inBook, jobs } from '@tollgate/db';
import { type Db, migrationsCurrent } from '@tollgate/db/client';
import type { PixelbyteClient } from '@tollgate/pixelbyte';
import { count, inArray, sql } from 'drizzle-orm';
import { createApp } from './app.ts';
import { createAuthenticator } from './auth/authenticator.ts';
import type { JwtVerifier } from './auth/jwt.ts';
import { createDbBreaker } from './db-breaker.ts';
import type { AppDeps, GatewayConfig } from './deps.ts';
import { answerHttpParserErrorsAsJson } from './http-parser-errors.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createSandbox, type Sandbox } from './sandbox.ts';
import { createPoller } from './workers/poller.ts';
import type { Worker } from './workers/run-loop.ts';
import { createTenantWebhookWorker, type TenantWebhookOptions } from './workers/tenant-webhooks.ts';
import { createUnknownResolver } from './workers/unknown-resolver.ts';

/** How long a client may take to send a request (Node's requestTimeout / headersTimeout). */
export type HttpTimeouts = { requestTimeoutMs: number; headersTimeoutMs: number };

/** The defaults of HTTP_REQUEST_TIMEOUT / HTTP_HEADERS_TIMEOUT (env.ts). */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 };

export type WorkerOptions = {
  poll: { intervalMs: number; concurrency: number; batchSize: number };
  unknownResolverIntervalMs: number;
  /** Age after which a `submitting` job is presumed interrupted (default 10 min). */
  staleSubmittingMs?: number;
  /** tollgate → tenant webhook delivery (defaults: DEFAULT_TENANT_WEBHOOK_OPTIONS). */
  tenantWebhooks?: Partial<TenantWebhookOptions>;
  /** Start the loops (tests may keep them stopped and call runOnce). */
  autoStart: boolean;
};

export type Gateway = {
  url: string;
  port: number;
  deps: AppDeps;
  poller: Worker;
  unknownResolver: Worker;
  tenantWebhooks: Worker;
  /** Graceful: stop accepting, finish in-flight requests, stop workers. Does not close db/pixelbyte (their owner does). */
  close(opts?: { timeoutMs?: number }): Promise<void>;
};

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Everything AppDeps needs that is derived rather than given: metrics wired to the DB, readiness. */
export function buildDeps(opts: {
  config: GatewayConfig;
  db: Db;
  /** Where the finance reports read (REPORTS_DATABASE_URL, a read replica); default `db`. */
  reportsDb?: Db;
  pixelbyte: PixelbyteClient;
  auth: JwtVerifier;
  log: Logger;
  defaultMetrics?: boolean;
  /** Test mode's upstream; default: a built-in simulator started on the first test job (sandbox.ts). */
  sandbox?: Sandbox;
}): AppDeps {
  const { db } = opts;
  const dbBreaker = createDbBreaker({
    probe: async () => {
      await db.$client`SELECT 1`;
    },
    log: opts.log,
  });
  // Scrape-time reads skip the database while it is known to be down (the gauges stay unset).
  const whileUp = () => {
    if (dbBreaker.isOpen()) throw new Error('database down');
  };
  const metrics = createMetrics({
    defaultMetrics: opts.defaultMetrics ?? true,
    dbBreaker,
    jobStatusCounts: async () => {
      whileUp();
      // Jobs not yet ended only: a count of every job ever would scan the whole table at every
      // scrape, and grow with it. Ended jobs are counted by tollgate_job_transitions_total{to}.
      const rows = await db
        .select({ status: jobs.status, count: count() })
        .from(jobs)
        .where(inArray(jobs.status, [...IN_FLIGHT_JOB_STATUSES]))
        .groupBy(jobs.status);
      const counted = new Map(rows.map((r) => [r.status, Number(r.count)]));
      return IN_FLIGHT_JOB_STATUSES.map((status) => ({ status, count: counted.get(status) ?? 0 }));
    },
    moneySnapshot: async () => {
      whileUp();
      // GROUP BY 1: the book's expression has a bound parameter, which a repeated GROUP BY
      // expression would bind again (and Postgres would refuse as a different expression).
      const rows = (await db.execute(sql`
        SELECT CASE WHEN ${inBook(sql`tenant_id`, 'test')} THEN 'test' ELSE 'live' END AS mode,
               coalesce(sum(available_micro_cents), 0)::text AS available,
               coalesce(sum(held_micro_cents), 0)::text AS held
          FROM tenant_balances GROUP BY 1`)) as unknown as {
        mode: 'live' | 'test';
        available: string;
        held: string;
      }[];
      return (['live', 'test'] as const).map((mode) => {
        const r = rows.find((x) => x.mode === mode);
        return { mode, availableMicroCents: BigInt(r?.available ?? 0), heldMicroCents: BigInt(r?.held ?? 0) };
      });
    },
  });
  return {
    config: opts.config,
    db,
    reportsDb: opts.reportsDb ?? db,
    pixelbyte: opts.pixelbyte,
    sandbox:
      opts.sandbox ?? createSandbox({ log: opts.log, webhookSecret: opts.config.pixelbyteWebhookSecret }),
    auth: createAuthenticator({ jwt: opts.auth, db, dbBreaker, log: opts.log }),
    log: opts.log,
    metrics,
    dbBreaker,
    ready: async () => {
      // While the breaker is open its probe is the check: answer at once instead of queueing.
      if (dbBreaker.isOpen()) return { ok: false, details: { database: 'unreachable' } };
      try {
        const current = await migrationsCurrent(db);
        return {
          ok: current,
          details: { database: 'reachable', migrations: current ? 'current' : 'pending' },
        };
      } catch (err) {
        dbBreaker.observe(err);
        throw err;
      }
    },
  };
}

/** Builds the app, listens, and starts the workers. */
export async function startGateway(opts: {
  deps: AppDeps;
  port: number;
  host: string;
  workers: WorkerOptions;
  http?: HttpTimeouts;
}): Promise<Gateway> {
  const { deps } = opts;
  const app = createApp(deps);
  const { requestTimeoutMs, headersTimeoutMs } = opts.http ?? DEFAULT_HTTP_TIMEOUTS;
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: opts.port,
        hostname: opts.host,
        serverOptions: {
          // A request whose headers or body stall is cut with 408 (http-parser-errors.ts) after these,
          // not after Node's 300 s: each stalled request holds a socket and a parser until then.
          // They bound the request's arrival only; idle keep-alive sockets follow keepAliveTimeout
          // (Node ≥ 18 starts the headers timer at a request's first byte, not when a socket idles).
          requestTimeout: requestTimeoutMs,
          headersTimeout: headersTimeoutMs,
          // Node checks the timeouts every 30 s by default: a 10 s bound would be up to 40 s.
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
          // Keep idle client connections longer than the load balancers and HTTP clients in front of
          // us keep theirs (60 s is common): with Node's default of 5 s, a client reusing a connection
          // just as the server closes it gets ECONNRESET, and a submit cannot be retried blindly.
          keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        },
      },
      () => resolve(s as Server),
    );
  });
  answerHttpParserErrorsAsJson(server);
  const port = (server.address() as AddressInfo).port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  // Test jobs' webhooks come from the sandbox simulator on this machine: back to this very process.
  deps.sandbox.webhookBaseUrl ??= `http://${host}:${port}`;
  const poller = createPoller(deps, opts.workers.poll);
  const unknownResolver = createUnknownResolver(deps, {
    intervalMs: opts.workers.unknownResolverIntervalMs,
    graceMs: deps.config.unknownJobGraceMs,
    ...(opts.workers.staleSubmittingMs === undefined
      ? {}
      : { staleSubmittingMs: opts.workers.staleSubmittingMs }),
  });
  const tenantWebhooks = createTenantWebhookWorker(deps, opts.workers.tenantWebhooks);
  if (opts.workers.autoStart) {
    poller.start();
    unknownResolver.start();
    tenantWebhooks.start();
  }
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    deps,
    poller,
    unknownResolver,
    tenantWebhooks,
    close({ timeoutMs = 15_000 } = {}) {
      closing ??= (async () => {
        // Stop accepting; idle keep-alive sockets are closed now, busy ones after their response.
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        timer.unref();
        await drained;
        clearTimeout(timer);
        await Promise.all([poller.stop(), unknownResolver.stop(), tenantWebhooks.stop()]);
        await deps.sandbox.close();
        deps.dbBreaker.stop();
      })();
      return closing;
    },
  };
}
