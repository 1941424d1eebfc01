// Everything a run stands on: database, simulator, gateway, bare proxy, admin client, tenants.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type AppRouter, signToken } from '@tollgate/api';
import { createDb, type Db, migrate, type Sql } from '@tollgate/db/client';
import { createTenant, topUp } from '@tollgate/db/ledger';
import { createTRPCClient, httpLink } from '@trpc/client';
import { buildGateway, NODE_FLAGS, NPM_MODE } from '../../packages/api/scripts/build.ts';
import {
  type Child,
  type Database,
  freePort,
  REPO_ROOT,
  startDatabase,
  startNodeChild,
  waitForHttp,
  withTimeout,
} from './processes';

export const ISSUER = 'tollgate';
export const AUDIENCE = 'tollgate';
/** Flat-priced model used for every submit: 40,000 micro-cents at list price, no markup. */
export const MODEL = 'google/nano-banana-dev/text-to-image';
export const INPUT = { prompt: 'a red fox in the snow' };
export const PRICE_MICRO_CENTS = 40_000n;
export const SIM_API_KEY = 'pb_test_key';

export interface Tenant {
  id: string;
  /** Pre-built request headers (Bearer token) for the load generator. */
  headers: Record<string, string>;
  /** The same, with the tenant's API key (`tg_live_…`) instead of its JWT. */
  keyHeaders: Record<string, string>;
}

export interface Stack {
  database: Database;
  db: Db;
  sql: Sql;
  /** The raw SQL baseline's own database (same server). */
  baselineDb: Db;
  sim: { url: string; child: Child };
  /** `command`: how the gateway process was started (recorded in the results' `setup`). */
  gateway: { url: string; child: Child; dbPoolMax: number; command: string };
  proxy: { url: string; child: Child };
  admin: ReturnType<typeof adminClient>;
  adminToken: string;
  jwtSecret: string;
  stop(): Promise<void>;
}

function adminClient(url: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, headers: () => ({ authorization: `Bearer ${token}` }) })],
  });
}

async function startSim(log: (line: string) => void): Promise<{ url: string; child: Child }> {
  let resolveUrl: (url: string) => void = () => {};
  const urlSeen = new Promise<string>((r) => {
    resolveUrl = r;
  });
  const child = startNodeChild({
    name: 'pixelbyte simulator',
    cwd: path.join(REPO_ROOT, 'packages/pixelbyte'),
    script: 'src/simulator/main.ts',
    // Zero latency: jobs complete at once upstream; no webhooks (the gateway's poller finishes jobs);
    // no practical cap, so the simulator never answers 429 during a run.
    args: [
      '--port',
      '0',
      '--pending-ms',
      '0',
      '--processing-ms',
      '0',
      '--no-webhooks',
      '--quiet',
      '--concurrent-jobs',
      '1000000',
    ],
    onLine: (line) => {
      const m = /PIXELBYTE_BASE_URL=(\S+)/.exec(line);
      if (m?.[1]) resolveUrl(m[1]);
    },
  });
  const url = await withTimeout(
    Promise.race([
      urlSeen,
      child.exited.then(() => {
        throw new Error(`simulator exited:\n${child.tail()}`);
      }),
    ]),
    60_000,
    () => `simulator did not start:\n${child.tail()}`,
  );
  log(`simulator ${url} (pid ${child.pid})`);
  return { url, child };
}

export async function startStack(opts: {
  databaseUrl: string | undefined;
  dbPoolMax: number;
  log: (line: string) => void;
  /** Directory for a V8 CPU profile of the gateway (written when it exits). */
  profileDir?: string;
}): Promise<Stack> {
  const { log } = opts;
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        log(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  try {
    const database = await startDatabase(opts.databaseUrl);
    stops.push(() => database.stop());
    log(`database ready (${database.source})`);
    await migrate(database.url);
    await migrate(database.baselineUrl);
    const { db, sql, close } = createDb(database.url, { max: 4 });
    stops.push(close);
    const baseline = createDb(database.baselineUrl, { max: 4 });
    stops.push(baseline.close);

    const sim = await startSim(log);
    stops.push(() => sim.child.stop());

    // The gateway's production build, rebuilt on every run (~2 s) so the bench never measures a
    // stale dist/, and run the way `pnpm start` runs it.
    const built = await buildGateway();
    const gatewayScript = path.relative(path.join(REPO_ROOT, 'packages/api'), built.outfile);
    const gatewayFlags = [
      ...NODE_FLAGS,
      ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : []),
    ];
    const gatewayCommand = `node ${gatewayFlags.join(' ')} ${path.relative(REPO_ROOT, built.outfile)} (production build, rebuilt by the bench with packages/api/scripts/build.ts; npm deps: ${NPM_MODE})`;
    log(`gateway built: ${path.relative(REPO_ROOT, built.outfile)}`);

    const jwtSecret = randomBytes(32).toString('base64url');
    const gatewayPort = await freePort();
    const gatewayChild = startNodeChild({
      name: 'gateway',
      cwd: path.join(REPO_ROOT, 'packages/api'),
      script: gatewayScript,
      tsx: false,
      nodeFlags: gatewayFlags,
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        PORT: String(gatewayPort),
        HOST: '127.0.0.1',
        PIXELBYTE_BASE_URL: sim.url,
        PIXELBYTE_API_KEY: SIM_API_KEY,
        JWT_SECRET: jwtSecret,
        // /metrics is read by the bench without a token (a bench stack is local).
        METRICS_PUBLIC: 'true',
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        LOG_LEVEL: 'warn',
        DB_POOL_MAX: String(opts.dbPoolMax),
        // The poller's settings, for A/B runs (the gateway's defaults otherwise).
        ...Object.fromEntries(
          ['POLL_CONCURRENCY', 'POLL_BATCH_SIZE', 'POLL_INTERVAL'].flatMap((k) => {
            const v = process.env[k];
            return v === undefined ? [] : [[k, v]];
          }),
        ),
      },
    });
    stops.push(() => gatewayChild.stop(20_000));
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    await waitForHttp(`${gatewayUrl}/readyz`, gatewayChild);
    log(`gateway ${gatewayUrl} (pid ${gatewayChild.pid})`);

    const proxyPort = await freePort();
    const proxyChild = startNodeChild({
      name: 'bare proxy',
      cwd: path.join(REPO_ROOT, 'bench'),
      script: 'src/proxy-server.ts',
      env: { PROXY_PORT: String(proxyPort), UPSTREAM_URL: sim.url, NODE_ENV: 'production' },
    });
    stops.push(() => proxyChild.stop());
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    await waitForHttp(`${proxyUrl}/healthz`, proxyChild);
    log(`bare proxy ${proxyUrl} (pid ${proxyChild.pid})`);

    const adminToken = (
      await signToken({
        secret: jwtSecret,
        issuer: ISSUER,
        audience: AUDIENCE,
        principal: { role: 'admin', sub: 'bench-admin' },
        expiresInSeconds: 6 * 3600,
      })
    ).token;
    return {
      database,
      db,
      sql,
      baselineDb: baseline.db,
      sim,
      gateway: { url: gatewayUrl, child: gatewayChild, dbPoolMax: opts.dbPoolMax, command: gatewayCommand },
      proxy: { url: proxyUrl, child: proxyChild },
      admin: adminClient(gatewayUrl, adminToken),
      adminToken,
      jwtSecret,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Creates `count` tenants through the real admin procedures (create + top-up + an API key),
 * `parallel` at a time, and signs each a tenant token with the gateway's secret (the same claims
 * `issueToken` signs).
 */
export async function createTenants(
  stack: Stack,
  opts: { count: number; label: string; balanceMicroCents: number; parallel?: number },
): Promise<Tenant[]> {
  const out: Tenant[] = new Array(opts.count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.count) return;
      const t = await stack.admin.admin.tenants.create.mutate({ name: `bench-${opts.label}-${i}` });
      await stack.admin.admin.credits.topUp.mutate({
        tenantId: t.id,
        amountMicroCents: opts.balanceMicroCents,
        idempotencyKey: `bench-${t.id}`,
        reference: 'bench',
      });
      const { token } = await signToken({
        secret: stack.jwtSecret,
        issuer: ISSUER,
        audience: AUDIENCE,
        principal: { role: 'tenant', tenantId: t.id, sub: `bench-${opts.label}-${i}` },
        expiresInSeconds: 6 * 3600,
      });
      const { key } = await stack.admin.admin.keys.create.mutate({
        tenantId: t.id,
        name: 'bench',
        mode: 'live',
      });
      out[i] = {
        id: t.id,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        keyHeaders: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      };
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 16 }, worker));
  return out;
}

/** Tenants of the raw SQL baseline, created with the ledger's own functions in the baseline database. */
export async function createBaselineTenants(
  stack: Stack,
  count: number,
  balanceMicroCents: bigint,
): Promise<string[]> {
  const out: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t = await createTenant(stack.baselineDb, { name: `bench-raw-${i}`, actor: 'bench' });
      const r = await topUp(stack.baselineDb, {
        tenantId: t.id,
        amountMicroCents: balanceMicroCents,
        idempotencyKey: `bench-${t.id}`,
        reference: 'bench',
        actor: 'bench',
      });
      if (!r.ok) throw new Error(`baseline top-up failed: ${r.reason}`);
      out[i] = t.id;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}
