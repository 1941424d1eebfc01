// Crash at every step: the gateway runs as a child process with TOLLGATE_FAILPOINT naming a step; it
// SIGKILLs itself there. A fresh gateway is started on the same port and database; the tenant
// retries its unanswered submits with the same idempotency key; the workers run. Afterwards every
// job is terminal, no submit made two upstream jobs, charges and refunds happened once each, and
// the ledger reconciles.

import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { type Simulator, startSimulator } from '@tollgate/pixelbyte/simulator';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it, type TestContext } from 'vitest';
import { signToken } from '../../src/auth/jwt.ts';
import type { FailpointStep } from '../../src/failpoints.ts';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, makeClient, waitFor } from '../harness.ts';
import { freePort, type GatewayProcess, settleAndCheck, startGatewayProcess } from './support.ts';

const JWT_SECRET = 'crash-suite-secret-0123456789abcdef0123456789';
const WEBHOOK_SECRET = 'whsec_crash';

type Rig = {
  db: TestDatabase;
  sim: Simulator;
  port: number;
  start(failpoint?: string): Promise<GatewayProcess>;
};

/**
 * One case's own database, simulator and port, so the five cases run concurrently (most of a case is
 * waiting: graces, polling, webhook retries). Cleanup is per test (`onTestFinished`), not a shared
 * list, so one case finishing never kills another's gateway.
 */
async function rig(ctx: TestContext): Promise<Rig> {
  const open: { gw: GatewayProcess[]; sims: Simulator[]; dbs: TestDatabase[] } = {
    gw: [],
    sims: [],
    dbs: [],
  };
  ctx.onTestFinished(async () => {
    for (const g of open.gw.splice(0)) await g.kill('SIGKILL');
    for (const s of open.sims.splice(0)) await s.close();
    for (const d of open.dbs.splice(0)) await d.close();
  });
  const db = await createTestDatabase({ max: 3 });
  open.dbs.push(db);
  const sim = await startSimulator({
    autoAdvance: true,
    pendingMs: 100,
    processingMs: 100,
    // Retries span a gateway restart (boot takes a few seconds on a loaded 2-core machine).
    webhooks: { allowHttp: true, secret: WEBHOOK_SECRET, retryDelaysMs: [300, 600, 1200, 2400, 4800, 9600] },
  });
  open.sims.push(sim);
  const port = await freePort();
  return {
    db,
    sim,
    port,
    async start(failpoint) {
      const gw = await startGatewayProcess({
        port,
        env: {
          DATABASE_URL: db.url,
          PIXELBYTE_BASE_URL: sim.url,
          PIXELBYTE_API_KEY: sim.apiKey,
          PIXELBYTE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          PIXELBYTE_SUBMIT_TIMEOUT_MS: '3000',
          PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
          JWT_SECRET,
          POLL_INTERVAL: '200ms',
          UNKNOWN_JOB_GRACE: '2s',
          STALE_SUBMITTING_AFTER: '5s', // ≥ PIXELBYTE_SUBMIT_TIMEOUT_MS + 2s (env.ts refuses less)
          SHUTDOWN_TIMEOUT: '1s',
          DB_POOL_MAX: '4',
          ...(failpoint ? { TOLLGATE_FAILPOINT: failpoint } : {}),
        },
      });
      open.gw.push(gw);
      return gw;
    },
  };
}

async function tenantOn(url: string, balanceMicroCents: number) {
  const sign = async (principal: Parameters<typeof signToken>[0]['principal']) =>
    (
      await signToken({
        secret: JWT_SECRET,
        issuer: 'tollgate',
        audience: 'tollgate',
        principal,
        expiresInSeconds: 3600,
      })
    ).token;
  const admin = makeClient(url, await sign({ role: 'admin', sub: 'crash-admin' }));
  const t = await admin.admin.tenants.create.mutate({
    name: `crash-${Math.random().toString(36).slice(2, 10)}`,
  });
  await admin.admin.credits.topUp.mutate({
    tenantId: t.id,
    amountMicroCents: balanceMicroCents,
    idempotencyKey: `crash-topup-${t.id}`,
    reference: 'crash suite',
  });
  const token = await sign({ role: 'tenant', tenantId: t.id, sub: 'crash-tenant' });
  return { tenantId: t.id, token };
}

/** One submit; `null` when the connection died (the gateway was killed), else the job or the error code. */
async function trySubmit(url: string, token: string, key: string) {
  try {
    const job = await makeClient(url, token).jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      idempotencyKey: key,
    });
    return { ok: true as const, job };
  } catch (err) {
    if (err instanceof TRPCClientError && err.data) {
      return { ok: false as const, code: String((err.data as { reason?: string }).reason) };
    }
    return null;
  }
}

async function jobRows(db: TestDatabase) {
  return db.sql<
    {
      id: string;
      status: string;
      idempotency_key: string;
      upstream_job_id: string | null;
      needs_review: boolean;
    }[]
  >`SELECT id, status::text AS status, idempotency_key, upstream_job_id, needs_review FROM jobs ORDER BY created_at`;
}

/**
 * Submits `count` jobs one by one (distinct keys) until the gateway dies; returns the keys whose
 * submit got no answer. Then waits for the SIGKILL to be observed.
 */
async function submitUntilKilled(gw: GatewayProcess, token: string, count: number, prefix: string) {
  const unanswered: string[] = [];
  const answered: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${prefix}-${i}`;
    const r = await trySubmit(gw.url, token, key);
    if (r === null) unanswered.push(key);
    else answered.push(key);
    if (r === null) break;
  }
  return { unanswered, answered };
}

async function expectKilled(gw: GatewayProcess, step: string) {
  const res = await Promise.race([
    gw.exited,
    new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref()),
  ]);
  expect(res, `gateway should have died at fail point ${step}:\n${gw.output().slice(-2000)}`).not.toBeNull();
  expect(res?.signal, `killed by the fail point ${step}`).toBe('SIGKILL');
  expect(gw.output()).toContain(`FAILPOINT ${step}`);
}

/** The tenant retries unanswered submits with the same key until it gets a definite answer. */
async function retryUntilAnswered(url: string, token: string, keys: string[]) {
  const out = new Map<string, Awaited<ReturnType<typeof trySubmit>>>();
  for (const key of keys) {
    out.set(
      key,
      await waitFor(
        async () => {
          const r = await trySubmit(url, token, key);
          return r && !(r.ok === false && r.code === 'IDEMPOTENCY_IN_FLIGHT') ? r : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `a definite answer for ${key}` },
      ),
    );
  }
  return out;
}

describe.concurrent('crash at every step (SIGKILL at a fail point, restart, workers finish the job)', () => {
  it.for<[FailpointStep, string]>([
    ['after-hold-commit', 'after-hold-commit@2'],
    ['after-upstream-accept', 'after-upstream-accept@2'],
    ['after-capture-commit', 'after-capture-commit@2'],
  ])('submit path: %s', { timeout: 180_000 }, async ([step, spec], ctx) => {
    const r = await rig(ctx);
    let gw = await r.start(spec);
    const t = await tenantOn(gw.url, 100 * CHEAP_PRICE);
    const { unanswered, answered } = await submitUntilKilled(gw, t.token, 4, step);
    expect(answered.length, 'the first submit passes the step').toBe(1);
    expect(unanswered.length, 'the second submit is cut by the crash').toBe(1);
    await expectKilled(gw, step);

    gw = await r.start();
    const retried = await retryUntilAnswered(gw.url, t.token, unanswered);
    // A couple more jobs after the restart: the gateway works normally again.
    const after = await submitUntilKilled(gw, t.token, 2, `${step}-after`);
    expect(after.unanswered).toEqual([]);

    const figures = await settleAndCheck(r.db, r.sim, `crash ${step}`, 45_000);
    const rows = await jobRows(r.db);
    expect(rows.length, 'one job per idempotency key, retries included').toBe(4);
    const crashed = rows.find((j) => j.idempotency_key === unanswered[0]);
    const replay = retried.get(unanswered[0] ?? '');
    if (replay?.ok) expect(replay.job.id, 'the retry returns the same job').toBe(crashed?.id);
    const upstreamJobs = r.sim.control.jobs();
    switch (step) {
      case 'after-hold-commit':
        // Nothing left the gateway: no upstream job, hold released, not charged.
        expect(crashed?.status).toBe('rejected');
        expect(crashed?.upstream_job_id).toBeNull();
        expect(upstreamJobs.length, 'upstream jobs = jobs actually sent').toBe(3);
        break;
      case 'after-upstream-accept':
        // Upstream has the job; the authenticated webhook names it and it is captured once.
        expect(upstreamJobs.length).toBe(4);
        expect(
          crashed?.status === 'completed' || (crashed?.status === 'rejected' && crashed.needs_review),
          `crashed job ${JSON.stringify(crashed)}`,
        ).toBe(true);
        break;
      case 'after-capture-commit':
        expect(upstreamJobs.length).toBe(4);
        expect(crashed?.status).toBe('completed');
        break;
      default:
        break;
    }
    expect(figures.capturedMicroCents - figures.refundedMicroCents).toBe(
      BigInt(CHEAP_PRICE) * BigInt(figures.byStatus.completed ?? 0),
    );
  });

  it('the capture keeps failing after Pixelbyte accepted (after-upstream-accept:throw): kept unknown WITH the upstream id, the poller captures it once', async (ctx) => {
    const r = await rig(ctx);
    r.sim.control.webhookMode('none'); // only the poller can finish the job
    const gw = await r.start('after-upstream-accept:throw');
    const t = await tenantOn(gw.url, 100 * CHEAP_PRICE);
    // Every capture attempt of the submit fails (the gateway stays up): the fallback must keep the
    // upstream id, or the hold would expire for free while Pixelbyte charges the operator.
    expect(await trySubmit(gw.url, t.token, 'cf-0')).toEqual({ ok: false, code: 'INTERNAL' });
    expect(gw.output()).toContain('could not record the acceptance');
    const [row] = await jobRows(r.db);
    const upstream = r.sim.control.jobs();
    expect(upstream).toHaveLength(1);
    expect(row?.upstream_job_id, 'the upstream id is kept').toBe(upstream[0]?.jobId);
    const figures = await settleAndCheck(r.db, r.sim, 'capture fallback', 45_000);
    expect((await jobRows(r.db)).map((j) => j.status)).toEqual(['completed']);
    expect(figures.capturedMicroCents - figures.refundedMicroCents, 'charged exactly once').toBe(
      BigInt(CHEAP_PRICE),
    );
    // The tenant's retry with the same key finds the job, captured.
    const retried = await trySubmit(gw.url, t.token, 'cf-0');
    expect(retried).toMatchObject({ ok: true, job: { id: row?.id, status: 'completed' } });
  }, 180_000);

  it('inside the webhook handler (job moved, 200 never sent: Pixelbyte retries)', async (ctx) => {
    const r = await rig(ctx);
    let gw = await r.start('in-webhook@1');
    const t = await tenantOn(gw.url, 100 * CHEAP_PRICE);
    const first = await trySubmit(gw.url, t.token, 'wh-0');
    expect(first?.ok).toBe(true);
    await expectKilled(gw, 'in-webhook');
    gw = await r.start();
    const more = await submitUntilKilled(gw, t.token, 2, 'wh-after');
    expect(more.unanswered).toEqual([]);
    await settleAndCheck(r.db, r.sim, 'crash in-webhook', 45_000);
    const rows = await jobRows(r.db);
    expect(rows.map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
    const firstJob = r.sim.control.jobs().find((j) => j.jobId === rows[0]?.upstream_job_id);
    const attempts = r.sim.control.webhookDeliveries().filter((d) => d.jobId === firstJob?.jobId);
    expect(attempts.length, 'the killed delivery was retried').toBeGreaterThan(1);
  }, 180_000);

  it('inside the poller (jobs claimed, never read: another pass finishes them)', async (ctx) => {
    const r = await rig(ctx);
    r.sim.control.webhookMode('none'); // only the poller can finish jobs
    let gw = await r.start('in-poller@1');
    const t = await tenantOn(gw.url, 100 * CHEAP_PRICE);
    for (const k of ['p-0', 'p-1', 'p-2']) expect((await trySubmit(gw.url, t.token, k))?.ok).toBe(true);
    await expectKilled(gw, 'in-poller');
    gw = await r.start();
    await settleAndCheck(r.db, r.sim, 'crash in-poller', 45_000);
    const rows = await jobRows(r.db);
    expect(rows.map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
  }, 180_000);
});
