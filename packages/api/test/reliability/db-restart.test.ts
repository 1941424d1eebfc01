// Database restart during load: a Postgres of this test's own (embedded, persistent temp dir) is
// stopped while tenants submit jobs, then started again on the same port. /readyz goes red, requests
// fail cleanly (no stack, no internals, a request id), the gateway recovers by itself (no restart),
// and afterwards every job is terminal and no money was lost.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, migrate } from '@tollgate/db/client';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '@tollgate/db/embedded';
import { type Simulator, startSimulator } from '@tollgate/pixelbyte/simulator';
import { TRPCClientError } from '@trpc/client';
import { afterAll, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, makeClient, waitFor } from '../harness.ts';
import {
  checkInvariants,
  checkUpstream,
  freePort,
  type GatewayProcess,
  startGatewayProcess,
} from './support.ts';

const SECRET = 'db-restart-secret-0123456789abcdef0123456789';
const WEBHOOK_SECRET = 'whsec_db_restart';
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const sign = async (principal: Parameters<typeof signToken>[0]['principal']) =>
  (
    await signToken({
      secret: SECRET,
      issuer: 'tollgate',
      audience: 'tollgate',
      principal,
      expiresInSeconds: 3600,
    })
  ).token;

it('Postgres stops and starts again under load: clean failures, /readyz red then green, no money lost', async () => {
  // Per-phase timings (printed at the end) show where this file's time goes.
  const t0 = Date.now();
  let last = t0;
  const phases: string[] = [];
  const phase = (name: string) => {
    const now = Date.now();
    phases.push(`${name} ${now - last} ms`);
    last = now;
  };
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tollgate-reliability-pg-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  let pg: EmbeddedPostgresServer = await startEmbeddedPostgres({ dataDir, persistent: true });
  const port = pg.port;
  cleanups.push(() => pg.stop());
  await migrate(pg.url);
  phase('postgres start + migrate');
  const sim: Simulator = await startSimulator({
    pendingMs: 50,
    processingMs: 50,
    webhooks: { allowHttp: true, secret: WEBHOOK_SECRET, retryDelaysMs: [200, 400, 800, 1600, 3200, 6400] },
  });
  cleanups.push(() => sim.close());
  // The gateway runs as its own process, as in production: a crash there cannot hide in the test runner.
  const gwPort = await freePort();
  const startGw = () =>
    startGatewayProcess({
      port: gwPort,
      env: {
        DATABASE_URL: pg.url,
        PIXELBYTE_BASE_URL: sim.url,
        PIXELBYTE_API_KEY: sim.apiKey,
        PIXELBYTE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        PUBLIC_BASE_URL: `http://127.0.0.1:${gwPort}`,
        JWT_SECRET: SECRET,
        POLL_INTERVAL: '200ms',
        UNKNOWN_JOB_GRACE: '2s',
        PIXELBYTE_SUBMIT_TIMEOUT_MS: '3000',
        STALE_SUBMITTING_AFTER: '5s', // ≥ PIXELBYTE_SUBMIT_TIMEOUT_MS + 2s (env.ts refuses less)
        DB_POOL_MAX: '4',
      },
    });
  const child: GatewayProcess = await startGw();
  phase('gateway boot');
  cleanups.push(() => child.kill('SIGKILL'));
  const gw = { url: child.url };

  const admin = makeClient(gw.url, await sign({ role: 'admin', sub: 'db-admin' }));
  const t = await admin.admin.tenants.create.mutate({ name: 'db-restart' });
  await admin.admin.credits.topUp.mutate({
    tenantId: t.id,
    amountMicroCents: 10_000 * CHEAP_PRICE,
    idempotencyKey: 'db-restart-topup',
    reference: 'db restart',
  });
  const tenant = makeClient(gw.url, await sign({ role: 'tenant', tenantId: t.id, sub: 'db-tenant' }));

  // Steady load: 4 lanes submitting until told to stop.
  const tally: Record<string, number> = {};
  const failures: { status: number; code: string; reason: string; message: string; requestId: string }[] = [];
  let stop = false;
  let n = 0;
  const lanes = Array.from({ length: 4 }, async () => {
    while (!stop) {
      try {
        await tenant.jobs.submit.mutate({
          model: CHEAP_MODEL,
          input: CHEAP_INPUT,
          idempotencyKey: `db-${n++}`,
        });
        tally.ok = (tally.ok ?? 0) + 1;
      } catch (err) {
        if (!(err instanceof TRPCClientError)) throw err;
        const d = (err.data ?? {
          httpStatus: 0,
          code: 'NO_TRPC_ERROR',
          reason: err.message,
          requestId: '',
        }) as {
          httpStatus: number;
          code: string;
          reason: string;
          requestId: string;
        };
        failures.push({
          status: d.httpStatus,
          code: d.code,
          reason: d.reason,
          message: err.message,
          requestId: d.requestId,
        });
        const k = `${d.httpStatus} ${d.code}/${d.reason}`;
        tally[k] = (tally[k] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 20)); // a client backing off, not a timing assertion
      }
    }
  });
  await waitFor(async () => (tally.ok ?? 0) >= 10, { timeoutMs: 30_000, what: 'load running' });
  phase('tenant + 10 submits');

  await pg.stop();
  phase('postgres stop');
  // While the database is down, three checks run at once. Once a lost connection is confirmed by a
  // failed probe, the gateway's breaker (src/db-breaker.ts) refuses at once; before it, each refusal
  // waited for a pooled connection's reconnect (4-9 s each here), and the 20 s bounds below had ~2x
  // headroom.
  const tenantToken = await sign({ role: 'tenant', tenantId: t.id, sub: 'db-tenant' });
  const whileDown = async () => {
    await Promise.all([
      (async () => {
        let readyBody = '';
        await waitFor(
          async () => {
            const res = await fetch(`${gw.url}/readyz`);
            readyBody = await res.text();
            return res.status === 503;
          },
          { timeoutMs: 20_000, what: '/readyz red while the database is down' },
        );
        expect(readyBody).not.toMatch(/ECONNREFUSED|\n\s+at |node_modules/);
        phase('readyz red');
      })(),
      (async () => {
        await waitFor(async () => failures.length >= 5, {
          timeoutMs: 20_000,
          what: 'requests failing while down',
        });
        phase('5 refused submits');
        // The breaker is what answers now: open, and refusing without touching the pool.
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        expect(metrics).toMatch(/^tollgate_database_up 0$/m);
        expect(Number(/^tollgate_database_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      })(),
      (async () => {
        // A raw call while down: 503 DATABASE_UNAVAILABLE, Retry-After header + details, no internals.
        const raw = await fetch(`${gw.url}/trpc/jobs.list`, {
          headers: { authorization: `Bearer ${tenantToken}` },
        });
        const rawBody = await raw.text();
        expect(raw.status, rawBody).toBe(503);
        expect(raw.headers.get('retry-after')).toBe('2');
        expect(JSON.parse(rawBody)).toMatchObject({
          error: {
            message: 'The database is temporarily unavailable; retry shortly',
            data: {
              code: 'SERVICE_UNAVAILABLE',
              reason: 'DATABASE_UNAVAILABLE',
              details: { retryAfterSeconds: 2 },
            },
          },
        });
        expect(rawBody).not.toMatch(/ECONNREFUSED|postgres|\n\s+at |node_modules|\.ts:\d+|127\.0\.0\.1/i);
        phase('raw 503 check');
      })(),
    ]);
  };
  try {
    await whileDown();
  } catch (err) {
    // Say why, with the gateway's last output: it died during the outage (KNOWN ISSUE below), or it
    // stayed up but refused too slowly or wrongly, in which case the phases so far and what the
    // lanes got.
    const died = await Promise.race([child.exited, Promise.resolve(null)]);
    const why = died
      ? `the gateway died during the outage (${JSON.stringify(died)})`
      : `so far: ${phases.join(', ')}; lanes: ${JSON.stringify(tally)}`;
    throw new Error(`${String(err)}\n[db restart] ${why}:\n${child.output().slice(-3000)}`);
  }

  pg = await startEmbeddedPostgres({ dataDir, persistent: true, port });
  phase('postgres restart');
  // The gateway must survive its database vanishing: no supervisor restart here. (postgres.js 3.4.9
  // used to throw an uncaught TypeError from a pending socket write when the server went away; the
  // workspace patches it, see patches/postgres@3.4.9.patch and docs/reliability.md.)
  const crashed = await Promise.race([child.exited, Promise.resolve(null)]);
  expect(crashed, `the gateway died during the outage:\n${child.output().slice(-1500)}`).toBeNull();
  await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    what: '/readyz green again without restarting the gateway',
  });
  phase('readyz green');
  const okBefore = tally.ok ?? 0;
  await waitFor(async () => (tally.ok ?? 0) >= okBefore + 10, {
    timeoutMs: 30_000,
    what: 'submits succeed again',
  });
  stop = true;
  await Promise.all(lanes);
  phase('10 more submits ok + lanes stopped');

  console.info(`[db restart] submit answers: ${JSON.stringify(tally)}`);
  for (const f of failures) {
    // A lost database is the service being briefly unavailable (503 + Retry-After), not a bug (500).
    expect(f, `failure while the DB was down: ${JSON.stringify(f)}`).toMatchObject({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      reason: 'DATABASE_UNAVAILABLE',
    });
    expect(f.message, 'no internals in the message').not.toMatch(
      /ECONNREFUSED|postgres|\n\s+at |node_modules|\.ts:\d+/i,
    );
    expect(f.requestId).toMatch(/^req_|./);
  }
  // The checks use their own pool, opened after the outage.
  const pool = createDb(pg.url, { max: 3 });
  cleanups.push(() => pool.close());
  await waitFor(
    async () => {
      const [r] = await pool.sql<{ n: bigint }[]>`
        SELECT count(*)::bigint AS n FROM jobs WHERE status IN ('submitting', 'pending', 'processing', 'unknown')`;
      return r?.n === 0n;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'every job terminal after the restart' },
  );
  phase('every job terminal');
  const figures = await checkInvariants(pool.db, pool.sql, 'db restart');
  await checkUpstream(pool.sql, sim, 'db restart');
  const [bal] = await pool.sql<{ available: bigint; held: bigint }[]>`
    SELECT available_micro_cents AS available, held_micro_cents AS held FROM tenant_balances WHERE tenant_id = ${t.id}`;
  expect(bal?.held, 'nothing left held').toBe(0n);
  expect(bal?.available, 'top-up − net charges = balance').toBe(
    BigInt(10_000 * CHEAP_PRICE) - (figures.capturedMicroCents - figures.refundedMicroCents),
  );
  phase('invariants');
  console.info(`[db restart] phases (total ${Date.now() - t0} ms): ${phases.join(', ')}`);
}, 240_000);
