// Test harness: a real gateway (createApp on a random port via @hono/node-server), a real Pixelbyte
// simulator and a fresh Postgres database, all over real HTTP; typed @trpc/client clients whose
// tenants and tokens are created through the real admin procedures.

import { createDb } from '@tollgate/db/client';
import { reconcile } from '@tollgate/db/ledger';
import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { createPixelbyteClient, type PixelbyteClient } from '@tollgate/pixelbyte';
import { type Simulator, type SimulatorOptions, startSimulator } from '@tollgate/pixelbyte/simulator';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { expect } from 'vitest';
import { createJwtVerifier, signToken, type TokenSubject } from '../src/auth/jwt.ts';
import { buildDeps, type Gateway, type HttpTimeouts, startGateway } from '../src/gateway.ts';
import { createLogger } from '../src/logger.ts';
import type { AppRouter } from '../src/router.ts';
import { createSandbox } from '../src/sandbox.ts';

export const JWT_SECRET = 'harness-secret-0123456789abcdef0123456789';
export const ISSUER = 'tollgate';
export const AUDIENCE = 'tollgate';
export const SIM_WEBHOOK_SECRET = 'whsec_harness';

/** A cheap model: 40,000 micro-cents per request, flat. */
export const CHEAP_MODEL = 'google/nano-banana-dev/text-to-image';
export const CHEAP_INPUT = { prompt: 'a red fox in the snow' };
export const CHEAP_PRICE = 40_000;

export type Client = ReturnType<typeof makeClient>;

export function makeClient(url: string, token: string | null, extraHeaders: Record<string, string> = {}) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/trpc`,
        headers: () => ({ ...(token ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders }),
      }),
    ],
  });
}

export type HarnessOptions = {
  sim?: SimulatorOptions;
  /** Give Pixelbyte our webhook URL (default true); false = polling only. */
  webhooks?: boolean;
  /** Check X-PixelByte-Signature (default true, with the simulator's secret). */
  verifySignature?: boolean;
  unknownJobGraceMs?: number;
  submitTimeoutMs?: number;
  bodyLimitBytes?: number;
  /** Bearer token `/metrics` requires (default: open). */
  metricsToken?: string;
  /** Node's requestTimeout / headersTimeout (default: the gateway's 30 s / 10 s). */
  http?: HttpTimeouts;
  /** Start the poller/resolver loops (default false: tests call runOnce). */
  autoStartWorkers?: boolean;
  pollIntervalMs?: number;
  /** Age after which a `submitting` job is presumed interrupted (default: the gateway's 10 min). */
  staleSubmittingMs?: number;
  dbPoolMax?: number;
  /**
   * Give the gateway a pool of its own, opened on the URL this returns for the test database's URL
   * (e.g. through a TCP proxy the test can cut). Default: the gateway shares the test database's pool.
   */
  gatewayDatabaseUrl?: (testDatabaseUrl: string) => Promise<string>;
  /** REPORTS_DATABASE_URL: the finance reports read this database (a second connection pool). */
  reportsDatabaseUrl?: string;
  /** Also accept asymmetric tokens from this JWKS. */
  jwksUrl?: string;
  /** JWKS cache age (default: the verifier's 60 s). */
  jwksCacheMaxAgeMs?: number;
  /** Receive the gateway's JSON log lines (debug level). */
  onLogLine?: (line: string) => void;
};

export type Harness = {
  db: TestDatabase;
  sim: Simulator;
  gateway: Gateway;
  pixelbyte: PixelbyteClient;
  url: string;
  admin: Client;
  token(principal: TokenSubject, opts?: { expiresInSeconds?: number }): Promise<string>;
  /** Creates a tenant through admin.tenants.create, tops it up, issues its token. */
  createTenant(opts?: {
    balanceMicroCents?: number;
    markupBps?: number;
    limits?: { maxConcurrentJobs?: number; dailySpendLimitMicroCents?: number; requestsPerMinute?: number };
  }): Promise<{ tenantId: string; token: string; client: Client }>;
  /** Asserts the ledger reconciles (balances = lines, every hold resolved once…). */
  expectReconciled(): Promise<void>;
  close(): Promise<void>;
};

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase({ max: opts.dbPoolMax ?? 10 });
  const ownPool = opts.gatewayDatabaseUrl
    ? createDb(await opts.gatewayDatabaseUrl(db.url), { max: opts.dbPoolMax ?? 10 })
    : null;
  const reportsPool = opts.reportsDatabaseUrl ? createDb(opts.reportsDatabaseUrl, { max: 2 }) : null;
  const sim = await startSimulator({
    autoAdvance: false,
    ...opts.sim,
    webhooks: {
      allowHttp: true,
      secret: SIM_WEBHOOK_SECRET,
      retryDelaysMs: [50, 100, 200],
      ...opts.sim?.webhooks,
    },
  });
  const pixelbyte = createPixelbyteClient({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    timeoutMs: 5_000,
    submitTimeoutMs: opts.submitTimeoutMs ?? 5_000,
  });
  const onLogLine = opts.onLogLine;
  const log = onLogLine
    ? createLogger({ level: 'debug', destination: { write: (line: string) => onLogLine(line) } })
    : createLogger({ level: process.env.TOLLGATE_TEST_LOG === '1' ? 'debug' : 'silent' });
  const deps = buildDeps({
    config: {
      publicBaseUrl: undefined,
      webhookTokenSecret: 'harness-webhook-token-secret-0123456789abcdef',
      pixelbyteWebhookSecret: opts.verifySignature === false ? undefined : SIM_WEBHOOK_SECRET,
      jwt: { issuer: ISSUER, audience: AUDIENCE, signingSecret: JWT_SECRET },
      unknownJobGraceMs: opts.unknownJobGraceMs ?? 15 * 60_000,
      bodyLimitBytes: opts.bodyLimitBytes ?? 256 * 1024,
      ...(opts.metricsToken === undefined ? {} : { metricsToken: opts.metricsToken }),
    },
    db: ownPool?.db ?? db.db,
    ...(reportsPool ? { reportsDb: reportsPool.db } : {}),
    pixelbyte,
    auth: createJwtVerifier({
      secret: JWT_SECRET,
      jwksUrl: opts.jwksUrl,
      ...(opts.jwksCacheMaxAgeMs === undefined ? {} : { jwksCacheMaxAgeMs: opts.jwksCacheMaxAgeMs }),
      issuer: ISSUER,
      audience: AUDIENCE,
    }),
    log,
    defaultMetrics: false,
    // Test mode's simulator at the speed of the tests' (20 ms pending, 30 ms processing).
    sandbox: createSandbox({ log, webhookSecret: SIM_WEBHOOK_SECRET, pendingMs: 20, processingMs: 30 }),
  });
  const gateway = await startGateway({
    deps,
    port: 0,
    host: '127.0.0.1',
    ...(opts.http === undefined ? {} : { http: opts.http }),
    workers: {
      poll: { intervalMs: opts.pollIntervalMs ?? 100, concurrency: 4, batchSize: 50 },
      unknownResolverIntervalMs: 200,
      ...(opts.staleSubmittingMs === undefined ? {} : { staleSubmittingMs: opts.staleSubmittingMs }),
      autoStart: opts.autoStartWorkers ?? false,
    },
  });
  // The port is known only after listening; the webhook URL base follows it.
  if (opts.webhooks !== false) deps.config.publicBaseUrl = gateway.url;

  const token = async (principal: TokenSubject, o: { expiresInSeconds?: number } = {}) =>
    (
      await signToken({
        secret: JWT_SECRET,
        issuer: ISSUER,
        audience: AUDIENCE,
        principal,
        expiresInSeconds: o.expiresInSeconds ?? 3600,
      })
    ).token;
  const admin = makeClient(gateway.url, await token({ role: 'admin', sub: 'test-admin' }));
  let n = 0;

  return {
    db,
    sim,
    gateway,
    pixelbyte,
    url: gateway.url,
    admin,
    token,
    async createTenant(o = {}) {
      n += 1;
      const t = await admin.admin.tenants.create.mutate({
        name: `tenant-${n}-${Math.random().toString(36).slice(2, 8)}`,
        ...(o.markupBps === undefined ? {} : { markupBps: o.markupBps }),
        ...(o.limits === undefined ? {} : { limits: o.limits }),
      });
      if (o.balanceMicroCents) {
        await admin.admin.credits.topUp.mutate({
          tenantId: t.id,
          amountMicroCents: o.balanceMicroCents,
          idempotencyKey: `harness-${t.id}`,
          reference: 'harness',
        });
      }
      const issued = await admin.admin.tenants.issueToken.mutate({ tenantId: t.id });
      return { tenantId: t.id, token: issued.token, client: makeClient(gateway.url, issued.token) };
    },
    async expectReconciled() {
      const r = await reconcile(db.db);
      expect(r.discrepancies, 'ledger reconciles').toEqual([]);
      expect(r.ok).toBe(true);
    },
    async close() {
      await gateway.close({ timeoutMs: 2_000 });
      await sim.close();
      await pixelbyte.close();
      await ownPool?.close();
      await reportsPool?.close();
      await db.close();
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes (no sleeps as assertions). */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** Runs a call expected to fail; returns the tRPC error's code, reason, details and HTTP status. */
export async function expectTRPCError(call: Promise<unknown>): Promise<{
  code: string;
  reason: string;
  httpStatus: number;
  message: string;
  details?: Record<string, unknown>;
  requestId: string;
}> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCClientError) {
      const data = err.data as {
        code: string;
        reason: string;
        httpStatus: number;
        requestId: string;
        details?: Record<string, unknown>;
      };
      return {
        code: data.code,
        reason: data.reason,
        httpStatus: data.httpStatus,
        message: err.message,
        requestId: data.requestId,
        ...(data.details ? { details: data.details } : {}),
      };
    }
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Row counts of every table that matters: "nothing written" means these did not change. */
export async function rowCounts(db: TestDatabase): Promise<Record<string, number>> {
  const tables = [
    'tenants',
    'tenant_balances',
    'jobs',
    'holds',
    'ledger_transactions',
    'ledger_lines',
    'audit_log',
  ];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await db.sql.unsafe<{ n: bigint }[]>(`SELECT count(*)::bigint AS n FROM ${t}`);
    out[t] = Number(r?.n ?? 0);
  }
  return out;
}
