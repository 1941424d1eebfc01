import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tenantWebhookDeliveries } from '@tollgate/db';
import { createDb } from '@tollgate/db/client';
import { getTenant, updateTenant } from '@tollgate/db/ledger';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../src/deps.ts';
import type { ResolveAll } from '../src/services/webhook-url.ts';
import type { Worker } from '../src/workers/run-loop.ts';
import { createTenantWebhookWorker } from '../src/workers/tenant-webhooks.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Client,
  expectTRPCError,
  type Harness,
  rowCounts,
  startHarness,
  waitFor,
} from './harness.ts';
import { startReceiver, verifySignature } from './webhook-receiver.ts';

describe('tenant webhooks', () => {
  let h: Harness;
  const workers: Worker[] = [];
  const worker = (deps: AppDeps, opts: Parameters<typeof createTenantWebhookWorker>[1] = {}) => {
    const w = createTenantWebhookWorker(deps, { intervalMs: 10, retryBaseMs: 30, timeoutMs: 2_000, ...opts });
    workers.push(w);
    return w;
  };
  beforeAll(async () => {
    h = await startHarness();
    // Local receivers on 127.0.0.1: http and private destinations by the dev/test flags.
    h.gateway.deps.config.allowHttpWebhooks = true;
    h.gateway.deps.config.allowPrivateWebhooks = true;
  });
  afterEach(async () => {
    // Each test's workers stop with it, so no test sees another's loop deliver its rows.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await h.close();
  });

  async function completedJob(client: Client, webhookUrl?: string) {
    const job = await client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      ...(webhookUrl ? { webhookUrl } : {}),
    });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    return waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'completed' ? j : null;
    });
  }

  const deliveryOf = async (jobId: string) =>
    (await h.db.db.select().from(tenantWebhookDeliveries).where(eq(tenantWebhookDeliveries.jobId, jobId)))[0];

  it('a completed job → one signed POST with the jobs.get shape, verified with the tenant secret', async () => {
    const receiver = await startReceiver();
    try {
      const { client, tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      const done = await completedJob(client, receiver.url);
      const w = worker(h.gateway.deps);
      expect(await w.runOnce()).toBe(1);
      expect(await w.runOnce(), 'nothing left to send').toBe(0);

      expect(receiver.received).toHaveLength(1);
      const [req] = receiver.received;
      if (!req) throw new Error('no request');
      const secret = (await getTenant(h.db.db, tenantId))?.webhookSecret;
      expect(secret).toMatch(/^whsec_/);
      expect(verifySignature(secret ?? '', req.headers, req.rawBody), 'signature verifies').toBe(true);
      expect(verifySignature('whsec_d3Jvbmcgc2VjcmV0', req.headers, req.rawBody)).toBe(false);
      expect(req.headers['content-type']).toBe('application/json');
      const d = await deliveryOf(done.id);
      expect(req.headers['webhook-id'], 'the message id is the delivery id').toBe(d?.id);
      expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
      expect(JSON.parse(req.rawBody)).toEqual({
        type: 'job.completed',
        timestamp: d?.createdAt.toISOString(),
        data: { ...done, livemode: true },
      });
      expect(await deliveryOf(done.id)).toMatchObject({
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
        url: receiver.url,
      });
    } finally {
      await receiver.close();
    }
  });

  it('receiver answers 500 twice then 200 → delivered on the 3rd try', async () => {
    const receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      const done = await completedJob(client, receiver.url);
      worker(h.gateway.deps).start();
      const d = await waitFor(async () => {
        const row = await deliveryOf(done.id);
        return row?.status === 'delivered' ? row : null;
      });
      expect(d).toMatchObject({ attempts: 3, lastStatusCode: 200, lastError: null });
      expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
      const ids = receiver.received.map((r) => JSON.parse(r.rawBody).data.id);
      expect(ids).toEqual([done.id, done.id, done.id]);
      const messageIds = new Set(receiver.received.map((r) => r.headers['webhook-id']));
      expect(messageIds, 'every retry carries the same webhook-id').toEqual(new Set([d.id]));
    } finally {
      await receiver.close();
    }
  });

  it('receiver down for every try → delivery failed; the job and its money are untouched', async () => {
    const gone = await startReceiver();
    await gone.close();
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const done = await completedJob(client, gone.url);
    const before = await client.account.get.query();
    worker(h.gateway.deps, { maxAttempts: 4 }).start();
    const d = await waitFor(async () => {
      const row = await deliveryOf(done.id);
      return row?.status === 'failed' ? row : null;
    });
    expect(d).toMatchObject({ attempts: 4, nextAttemptAt: null, deliveredAt: null, lastStatusCode: null });
    expect(d.lastError).toMatch(/request failed/);
    expect(await client.jobs.get.query({ id: done.id })).toEqual(done);
    expect(await client.account.get.query()).toEqual(before);
    expect(before).toMatchObject({ availableMicroCents: 1_000_000 - CHEAP_PRICE, heldMicroCents: 0 });
    await h.expectReconciled();
  });

  it('receiver that never answers → attempt fails after the timeout and is retried', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer(() => undefined); // reads the request, never answers
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
      const done = await completedJob(client, url);
      expect(await worker(h.gateway.deps, { timeoutMs: 200 }).runOnce()).toBe(0);
      const d = await deliveryOf(done.id);
      expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
      expect(d?.lastError).toBe('no answer within 200 ms');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('two gateway workers on one database send each delivery exactly once', async () => {
    const receiver = await startReceiver();
    const pools = [createDb(h.db.url, { max: 4 }), createDb(h.db.url, { max: 4 })];
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 10_000_000 });
      const done = await Promise.all(Array.from({ length: 12 }, () => completedJob(client, receiver.url)));
      for (const pool of pools) worker({ ...h.gateway.deps, db: pool.db }, { batchSize: 3 }).start();
      await waitFor(async () => receiver.received.length >= done.length || null, {
        what: 'all deliveries',
      });
      await waitFor(async () => {
        const rows = await Promise.all(done.map((j) => deliveryOf(j.id)));
        return rows.every((r) => r?.status === 'delivered') || null;
      });
      const ids = receiver.received.map((r) => JSON.parse(r.rawBody).data.id as string).sort();
      expect(ids, 'one POST per job, no duplicates').toEqual(done.map((j) => j.id).sort());
      for (const j of done) expect(await deliveryOf(j.id)).toMatchObject({ attempts: 1 });
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      await receiver.close();
    }
  });

  it('uses the tenant default URL; a failed job is notified with its refund', async () => {
    const receiver = await startReceiver();
    try {
      const { client, tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      await updateTenant(h.db.db, { tenantId, webhookUrl: receiver.url, actor: 'test' });
      const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
      await h.sim.control.advance(job.upstreamJobId ?? '', 'failed');
      const failed = await waitFor(async () => {
        const j = await client.jobs.get.query({ id: job.id });
        return j.status === 'failed' ? j : null;
      });
      await worker(h.gateway.deps).runOnce();
      expect(receiver.received.map((r) => JSON.parse(r.rawBody))).toEqual([
        { type: 'job.failed', timestamp: expect.any(String), data: { ...failed, livemode: true } },
      ]);
      expect(failed.refundedMicroCents).toBe(CHEAP_PRICE);
    } finally {
      await receiver.close();
    }
  });

  it('a submit refused synchronously is not notified (the caller got the error)', async () => {
    const receiver = await startReceiver();
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      h.sim.control.failNextSubmits({ code: 'INVALID_INPUT', status: 400, count: 1 });
      const e = await expectTRPCError(
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, webhookUrl: receiver.url }),
      );
      expect(e.code).toBe('BAD_REQUEST');
      expect(await deliveryOf(String(e.details?.jobId))).toBeUndefined();
      await worker(h.gateway.deps).runOnce();
      expect(receiver.received).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('bad webhook URLs are BAD_REQUEST and write nothing; http only when the flag allows it', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const before = await rowCounts(h.db);
    const bad = [
      'not a url',
      'ftp://example.com/hook',
      'https://user:pw@example.com/hook',
      'javascript:alert(1)',
    ];
    for (const webhookUrl of bad) {
      const e = await expectTRPCError(
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, webhookUrl }),
      );
      expect(e.code, webhookUrl).toBe('BAD_REQUEST');
    }
    h.gateway.deps.config.allowHttpWebhooks = false;
    try {
      const e = await expectTRPCError(
        client.jobs.submit.mutate({
          model: CHEAP_MODEL,
          input: CHEAP_INPUT,
          webhookUrl: 'http://example.com/hook',
        }),
      );
      expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    } finally {
      h.gateway.deps.config.allowHttpWebhooks = true;
    }
    expect(await rowCounts(h.db)).toEqual(before);
  });

  /** Runs `fn` with private webhook destinations refused (the production default). */
  async function withPrivateRefused<T>(fn: () => Promise<T>): Promise<T> {
    h.gateway.deps.config.allowPrivateWebhooks = false;
    try {
      return await fn();
    } finally {
      h.gateway.deps.config.allowPrivateWebhooks = true;
    }
  }

  /** A DNS resolver where `name` → 127.0.0.1 (a rebinding name, or an internal one); others fail. */
  const resolverTo127 =
    (name: string): ResolveAll =>
    (hostname, _options, callback) => {
      if (hostname === name) return callback(null, [{ address: '127.0.0.1', family: 4 } as LookupAddress]);
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      return callback(err, []);
    };

  it('SSRF: a submit whose webhookUrl is a private IP literal or localhost is BAD_REQUEST, nothing charged', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const account = await client.account.get.query();
    const before = await rowCounts(h.db);
    await withPrivateRefused(async () => {
      const e = await expectTRPCError(
        client.jobs.submit.mutate({
          model: CHEAP_MODEL,
          input: CHEAP_INPUT,
          webhookUrl: 'https://10.0.0.1/x',
        }),
      );
      expect(e).toMatchObject({
        code: 'BAD_REQUEST',
        httpStatus: 400,
        reason: 'INVALID_INPUT',
        message: 'webhookUrl must reach a public address: host 10.0.0.1 is private (10.0.0.0/8, RFC 1918)',
        details: { field: 'webhookUrl' },
      });
      for (const webhookUrl of [
        'https://127.0.0.1/x',
        'https://169.254.169.254/latest/meta-data/',
        'https://100.64.0.1/x',
        'https://[::1]/x',
        'https://[fd00::1]/x',
        'https://[::ffff:192.168.0.1]/x',
        'https://0x7f000001/x',
        'https://0.0.0.0/x',
        'https://localhost:8443/x',
        'http://127.0.0.1:9/x', // http allowed here, private not
      ]) {
        const err = await expectTRPCError(
          client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, webhookUrl }),
        );
        expect(err, webhookUrl).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
        expect(err.message, webhookUrl).toMatch(/^webhookUrl must reach a public address: host /);
      }
    });
    expect(await rowCounts(h.db)).toEqual(before);
    expect(await client.account.get.query()).toEqual(account);
  });

  it('SSRF: admin tenants.create/update refuse a private default webhook URL with the schema 400', async () => {
    const { tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const before = await rowCounts(h.db);
    for (const webhookUrl of [
      'https://169.254.169.254/hook',
      'https://[::1]/hook',
      'https://localhost/hook',
    ]) {
      const e = await expectTRPCError(h.admin.admin.tenants.update.mutate({ tenantId, webhookUrl }));
      expect(e, webhookUrl).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, reason: 'INVALID_INPUT' });
      expect(e.message, webhookUrl).toMatch(/webhookUrl: webhook URL must reach a public address/);
      const c = await expectTRPCError(h.admin.admin.tenants.create.mutate({ name: 'ssrf', webhookUrl }));
      expect(c, webhookUrl).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    }
    expect(await rowCounts(h.db), 'nothing written, no audit row').toEqual(before);
    expect((await getTenant(h.db.db, tenantId))?.webhookUrl).toBeNull();
    // A public one is still accepted.
    const ok = await h.admin.admin.tenants.update.mutate({
      tenantId,
      webhookUrl: 'https://hooks.example.com/t',
    });
    expect(ok.webhookUrl).toBe('https://hooks.example.com/t');
  });

  it('SSRF at delivery: a name that resolves to 127.0.0.1 → failed at once, nothing sent, job and money untouched', async () => {
    const receiver = await startReceiver();
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      const port = new URL(receiver.url).port;
      // Accepted at submit (a name, not a literal): it resolves privately only when delivered.
      const url = `http://rebind.test:${port}/hooks/tollgate`;
      const done = await completedJob(client, url);
      const before = await client.account.get.query();
      const resolve = resolverTo127('rebind.test');
      await withPrivateRefused(async () => {
        expect(await worker(h.gateway.deps, { resolve, maxAttempts: 5 }).runOnce()).toBe(0);
      });
      const d = await deliveryOf(done.id);
      expect(d).toMatchObject({
        status: 'failed',
        attempts: 1, // refused addresses are not retried
        nextAttemptAt: null,
        deliveredAt: null,
        lastStatusCode: null,
        lastError: 'refused (SSRF): rebind.test resolved to 127.0.0.1, loopback (127.0.0.0/8)',
      });
      expect(receiver.received, 'no connection reached the receiver').toEqual([]);
      expect(await client.jobs.get.query({ id: done.id })).toEqual(done);
      expect(await client.account.get.query()).toEqual(before);
      await h.expectReconciled();
    } finally {
      await receiver.close();
    }
  });

  it('control: the same resolver with private destinations allowed delivers to the receiver', async () => {
    const receiver = await startReceiver();
    try {
      const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      const url = `http://rebind.test:${new URL(receiver.url).port}/hooks/tollgate`;
      const done = await completedJob(client, url);
      expect(await worker(h.gateway.deps, { resolve: resolverTo127('rebind.test') }).runOnce()).toBe(1);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]?.headers.host).toBe(`rebind.test:${new URL(receiver.url).port}`);
      expect(await deliveryOf(done.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await receiver.close();
    }
  });

  it('SSRF at delivery: a stored private-literal URL (tenant default) is re-checked → failed at once', async () => {
    const receiver = await startReceiver();
    try {
      const { client, tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
      // Written directly (as an older row or a row from before this rule would be).
      await updateTenant(h.db.db, { tenantId, webhookUrl: receiver.url, actor: 'test' });
      const done = await completedJob(client);
      const before = await client.account.get.query();
      await withPrivateRefused(async () => {
        expect(await worker(h.gateway.deps).runOnce()).toBe(0);
      });
      expect(await deliveryOf(done.id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        nextAttemptAt: null,
        lastError:
          'webhook URL not allowed: it must reach a public address: host 127.0.0.1 is loopback (127.0.0.0/8)',
      });
      expect(receiver.received).toEqual([]);
      expect(await client.account.get.query()).toEqual(before);
    } finally {
      await receiver.close();
    }
  });
});
