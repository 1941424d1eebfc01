// "A submit retried after a dropped connection charges once" — with a real fault: a local TCP proxy
// forwards the request to the real gateway, lets the gateway process it, then drops the connection
// instead of delivering the response. The client sees a network error and retries with the same key.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';
import { createTollgateClient, NetworkError, type RetryEvent } from '../src/index.ts';

type Proxy = {
  url: string;
  /** Drop the response of the next `n` requests (after the gateway answered). */
  dropNextResponses(n: number): void;
  connections: number;
  dropped: number;
  close(): Promise<void>;
};

async function startDroppingProxy(target: URL): Promise<Proxy> {
  let toDrop = 0;
  const sockets = new Set<Socket>();
  const state = { connections: 0, dropped: 0 };
  const server: Server = createServer((client) => {
    state.connections += 1;
    // fetch keeps connections alive across clients: decide per request (its first bytes), not per connection.
    let drop = false;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (!drop && toDrop > 0) {
        toDrop -= 1;
        drop = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (drop) {
        // The gateway has answered: the request ran. Lose the answer on the way back.
        state.dropped += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    dropNextResponses(n) {
      toDrop = n;
    },
    get connections() {
      return state.connections;
    },
    get dropped() {
      return state.dropped;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let h: Harness;
let proxy: Proxy;
beforeAll(async () => {
  h = await startHarness();
  proxy = await startDroppingProxy(new URL(h.url));
});
afterAll(async () => {
  await proxy?.close();
  await h?.close();
});

describe('retries against a real dropped connection', () => {
  it('a submit whose response is lost is retried with the same key and charges once', async () => {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const retries: RetryEvent[] = [];
    const client = createTollgateClient({
      url: proxy.url,
      token: t.token,
      retry: { baseDelayMs: 20 },
      onRetry: (e) => retries.push(e),
    });
    const dropped0 = proxy.dropped;
    proxy.dropNextResponses(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });

    expect(proxy.dropped - dropped0, 'the first response was really lost after the gateway answered').toBe(1);
    expect(retries.map((r) => [r.path, r.attempt, r.error.constructor.name])).toEqual([
      ['jobs.submit', 1, 'NetworkError'],
    ]);
    expect(job.status).toBe('pending');
    expect(job.costMicroCents).toBe(CHEAP_PRICE);
    const jobs = await t.client.jobs.list.query({ limit: 10 });
    expect(
      jobs.items.map((j) => j.id),
      'one job, not two',
    ).toEqual([job.id]);
    expect(h.sim.control.jobs().filter((j) => j.jobId === job.upstreamJobId)).toHaveLength(1);
    expect(await t.client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('retries a read after a dropped connection', async () => {
    const t = await h.createTenant({ balanceMicroCents: 123_456 });
    const client = createTollgateClient({ url: proxy.url, token: t.token, retry: { baseDelayMs: 10 } });
    const dropped0 = proxy.dropped;
    proxy.dropNextResponses(2);
    expect((await client.account.get.query()).availableMicroCents).toBe(123_456);
    expect(proxy.dropped - dropped0).toBe(2);
  });

  it('never retries a mutation without an idempotency key (it may already have happened)', async () => {
    const adminToken = await h.token({ role: 'admin', sub: 'retry-test' });
    const dropped0 = proxy.dropped;
    const retries: RetryEvent[] = [];
    const admin = createTollgateClient({
      url: proxy.url,
      token: adminToken,
      retry: { baseDelayMs: 10 },
      onRetry: (e) => retries.push(e),
    });
    proxy.dropNextResponses(1);
    const err = await admin.admin.tenants.create.mutate({ name: 'created-once' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(proxy.dropped - dropped0).toBe(1);
    expect(retries, 'no retry of an unkeyed mutation').toEqual([]);
  });

  it('gives up after maxAttempts and reports a NetworkError', async () => {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const client = createTollgateClient({
      url: proxy.url,
      token: t.token,
      retry: { maxAttempts: 3, baseDelayMs: 5 },
    });
    const dropped0 = proxy.dropped;
    proxy.dropNextResponses(3);
    const err = await client.jobs.submit
      .mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(proxy.dropped - dropped0).toBe(3);
    // Three attempts with one key: at most one job and one charge, whatever the client saw.
    const jobs = await t.client.jobs.list.query({ limit: 10 });
    expect(jobs.items).toHaveLength(1);
    expect((await t.client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE);
    proxy.dropNextResponses(0);
  });
});
