// The database breaker (src/db-breaker.ts) end to end: the gateway's pool reaches Postgres through a
// TCP proxy this test can cut, as a database outage looks from the gateway (connections dropped,
// reconnects refused). Once the first failure is seen, requests are refused at once with the usual
// 503 without touching the pool, and the gateway lets them through again by itself once a probe
// gets through.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from './harness.ts';

/** A TCP pass-through that can be cut (listener closed, every connection destroyed) and restored. */
async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<number>((resolve) =>
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
    );
  const port = await listen(0);
  return {
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    async restore() {
      await listen(port);
    },
    async close() {
      if (server.listening) await this.cut();
    },
  };
}

type Proxy = Awaited<ReturnType<typeof startTcpProxy>>;

/** A counter or gauge from the gateway's /metrics (no labels). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe('database breaker', () => {
  let h: Harness;
  let proxy: Proxy;

  beforeAll(async () => {
    h = await startHarness({
      dbPoolMax: 4,
      gatewayDatabaseUrl: async (testDatabaseUrl) => {
        const u = new URL(testDatabaseUrl);
        proxy = await startTcpProxy({ host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) });
        u.hostname = '127.0.0.1';
        u.port = String(proxy.port);
        return u.toString();
      },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await h?.close();
  });

  it('a refused request that is not a lost connection leaves the breaker closed', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: CHEAP_PRICE - 1 });
    const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE' });
    expect(await metric(h.url, 'tollgate_database_up')).toBe(1);
    expect(await metric(h.url, 'tollgate_database_refused_total')).toBe(0);
  });

  it('while the database is unreachable, requests are refused at once with 503; it recovers by itself', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: 100 * CHEAP_PRICE });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'before' });

    await proxy.cut();
    // The first request meets the lost connection itself (the pool reconnects, is refused); the
    // breaker's probe is refused too, and it opens.
    const first = await expectTRPCError(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    );
    expect(first).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'DATABASE_UNAVAILABLE',
      httpStatus: 503,
    });
    await waitFor(async () => (await metric(h.url, 'tollgate_database_up')) === 0, {
      timeoutMs: 15_000,
      what: 'the breaker open once its probe failed',
    });

    // From then on every request is refused by the breaker, never queued on the pool: the refusal
    // counter moves by exactly the number of calls, and each is the same 503 a lost connection gets.
    const refusedBefore = await metric(h.url, 'tollgate_database_refused_total');
    for (let i = 0; i < 20; i++) {
      const e = await expectTRPCError(
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: `down-${i}` }),
      );
      expect(e).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        reason: 'DATABASE_UNAVAILABLE',
        httpStatus: 503,
        details: { retryAfterSeconds: 2 },
      });
    }
    await expectTRPCError(client.jobs.list.query({}));
    const raw = await fetch(`${h.url}/trpc/account.get`, { headers: { authorization: 'Bearer x.y.z' } });
    expect(raw.status, 'a bad token is still a 401 during an outage').toBe(401);
    expect(await metric(h.url, 'tollgate_database_refused_total')).toBe(refusedBefore + 21);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ok: false, database: 'unreachable' });

    await proxy.restore();
    await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, {
      timeoutMs: 15_000,
      what: '/readyz green once the database is reachable again',
    });
    expect(await metric(h.url, 'tollgate_database_up')).toBe(1);
    const job = await client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      idempotencyKey: 'after',
    });
    expect(job.status).toBe('pending');

    // Nothing refused was written: two jobs, two holds of the tenant's balance.
    const rows = await h.db.sql<
      { n: bigint }[]
    >`SELECT count(*)::bigint AS n FROM jobs WHERE tenant_id = ${tenantId}`;
    expect(rows[0]?.n).toBe(2n);
    await h.expectReconciled();
  });

  it('an admin call and a Pixelbyte webhook are refused too while it is down', async () => {
    await proxy.cut();
    try {
      // A lost connection seen by a call makes the breaker probe; the probe fails, it opens.
      const e = await expectTRPCError(h.admin.admin.tenants.list.query({}));
      expect(e.reason).toBe('DATABASE_UNAVAILABLE');
      await waitFor(async () => (await metric(h.url, 'tollgate_database_up')) === 0, {
        timeoutMs: 15_000,
        what: 'the breaker open again',
      });
      const refusedBefore = await metric(h.url, 'tollgate_database_refused_total');
      const hook = await fetch(`${h.url}/webhooks/pixelbyte/job_x?token=t`, { method: 'POST', body: '{}' });
      expect(hook.status).toBe(503);
      expect(hook.headers.get('retry-after')).toBe('2');
      const anonymous = makeClient(h.url, null);
      await expect(anonymous.account.get.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
      expect(await metric(h.url, 'tollgate_database_refused_total')).toBe(refusedBefore + 1);
    } finally {
      await proxy.restore();
    }
    await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, { timeoutMs: 15_000 });
  });
});
