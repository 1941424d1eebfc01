// Two gateway instances on one database (each with its own pool, Pixelbyte client and workers),
// under concurrent load from shared tenants: tenant limits hold globally, the pollers never work a
// job twice, and the ledger reconciles. Rerun a failure with CHAOS_SEED=<seed>.

import { createDb } from '@tollgate/db/client';
import { createPixelbyteClient } from '@tollgate/pixelbyte';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, type Gateway, startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/logger.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Client,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from '../harness.ts';
import { chaosSeed, checkInvariants, checkUpstream, FULL_SCALE, prng } from './support.ts';

const SEED = chaosSeed();
const LABEL = `two instances, CHAOS_SEED=${SEED}`;
let h: Harness;
let b: Gateway;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  h = await startHarness({ sim: { autoAdvance: false }, autoStartWorkers: true, pollIntervalMs: 100 });
  // Instance B: same database and configuration, its own pool, upstream client and workers.
  const pool = createDb(h.db.url, { max: 5 });
  const pixelbyte = createPixelbyteClient({ baseUrl: h.sim.url, apiKey: h.sim.apiKey, timeoutMs: 5_000 });
  const deps = buildDeps({
    config: { ...h.gateway.deps.config },
    db: pool.db,
    pixelbyte,
    auth: h.gateway.deps.auth,
    log: createLogger({ level: 'silent' }),
    defaultMetrics: false,
  });
  b = await startGateway({
    deps,
    port: 0,
    host: '127.0.0.1',
    workers: {
      poll: { intervalMs: 100, concurrency: 4, batchSize: 50 },
      unknownResolverIntervalMs: 200,
      autoStart: true,
    },
  });
  deps.config.publicBaseUrl = b.url; // B's jobs get webhooks at B
  closers.push(
    () => b.close({ timeoutMs: 2_000 }),
    () => pixelbyte.close(),
    () => pool.close(),
  );
});

afterAll(async () => {
  for (const c of closers) await c();
  await h?.close();
});

/** Both instances' clients for one token. */
function both(token: string): [Client, Client] {
  return [makeClient(h.url, token), makeClient(b.url, token)];
}

async function burst(clients: [Client, Client], n: number) {
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      try {
        await (clients[i % 2] as Client).jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
        return 'ok';
      } catch (err) {
        if (err instanceof TRPCClientError) return String((err.data as { reason?: string }).reason);
        throw err;
      }
    }),
  );
  const tally: Record<string, number> = {};
  for (const r of results) tally[r] = (tally[r] ?? 0) + 1;
  return tally;
}

describe('two instances, one database', () => {
  it('tenant limits and balances hold globally under a concurrent burst through both instances', async () => {
    const conc = await h.createTenant({
      balanceMicroCents: 100 * CHEAP_PRICE,
      limits: { maxConcurrentJobs: 5 },
    });
    const daily = await h.createTenant({
      balanceMicroCents: 100 * CHEAP_PRICE,
      limits: { dailySpendLimitMicroCents: 7 * CHEAP_PRICE },
    });
    const poor = await h.createTenant({ balanceMicroCents: 3 * CHEAP_PRICE });
    // A burst must not straddle a minute boundary of the DB clock (fixed one-minute rate window).
    await waitFor(
      async () => {
        const [r] = await h.db.sql<{ s: number }[]>`SELECT extract(second FROM now())::int AS s`;
        return (r?.s ?? 59) < 45;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'the start of a DB-clock minute' },
    );
    const rate = await h.createTenant({
      balanceMicroCents: 100 * CHEAP_PRICE,
      limits: { requestsPerMinute: 6 },
    });

    const [c, d, p, r] = await Promise.all([
      burst(both(conc.token), 40),
      burst(both(daily.token), 40),
      burst(both(poor.token), 40),
      burst(both(rate.token), 40),
    ]);
    expect(c, `[${LABEL}] concurrent-jobs limit 5`).toEqual({ ok: 5, CONCURRENT_JOBS_LIMIT: 35 });
    expect(d, `[${LABEL}] daily spend limit 7 jobs`).toEqual({ ok: 7, DAILY_SPEND_LIMIT: 33 });
    expect(p, `[${LABEL}] balance for 3 jobs`).toEqual({ ok: 3, INSUFFICIENT_BALANCE: 37 });
    expect(r, `[${LABEL}] 6 requests per minute`).toEqual({ ok: 6, RATE_LIMIT: 34 });
    for (const j of h.sim.control.jobs()) await h.sim.control.advance(j.jobId, 'completed');
    await h.expectReconciled();
  });

  it('both pollers share the work without processing a job twice', async () => {
    const rnd = prng(SEED);
    const tenants = await Promise.all(
      Array.from({ length: 4 }, () => h.createTenant({ balanceMicroCents: 1_000_000 * CHEAP_PRICE })),
    );
    h.sim.control.webhookMode('none'); // only the pollers finish jobs
    // Both pollers wait until every job is terminal upstream (the simulator advances only when told
    // to): then a job needs exactly one read, whatever the load, and a second read can only mean a
    // second claim. Before, the first poll could land while a job was still pending on a slow run.
    await Promise.all([h.gateway.poller.stop(), b.poller.stop()]);
    const n = FULL_SCALE ? 1_000 : 150;
    const submitted: string[] = [];
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = rnd.pick(tenants);
        const job = await (both(t.token)[i % 2] as Client).jobs.submit.mutate({
          model: CHEAP_MODEL,
          input: CHEAP_INPUT,
        });
        submitted.push(job.upstreamJobId ?? '');
      }),
    );
    for (const id of submitted) {
      h.sim.control.setOutcome(rnd.chance(0.25) ? 'failed' : 'completed', { jobId: id });
      await h.sim.control.advance(id, rnd.chance(0.5) ? 'processing' : undefined);
      await h.sim.control.advance(id);
      if (h.sim.control.job(id)?.status === 'processing') await h.sim.control.advance(id);
    }
    const before = new Set(submitted);
    const reads = () =>
      h.sim.control.requests().filter((q) => q.method === 'GET' && before.has(q.path.split('/').pop() ?? ''));
    const notTerminalUpstream = submitted.filter(
      (id) => !['completed', 'failed'].includes(h.sim.control.job(id)?.status ?? ''),
    );
    expect(notTerminalUpstream, `[${LABEL}] every job terminal upstream before polling`).toEqual([]);
    expect(reads(), `[${LABEL}] no job read before the pollers run`).toEqual([]);
    h.gateway.poller.start();
    b.poller.start();
    await waitFor(
      async () => {
        const [row] = await h.db.sql<{ n: bigint }[]>`
          SELECT count(*)::bigint AS n FROM jobs WHERE status IN ('submitting', 'pending', 'processing', 'unknown')`;
        return row?.n === 0n;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `[${LABEL}] every job finished by the pollers` },
    );
    // Each job was terminal upstream before its first poll, so exactly one read finished it:
    // two reads of one job would mean it was claimed twice (by both instances, or twice by one).
    const perJob = new Map<string, number>();
    for (const q of reads()) {
      const id = q.path.split('/').pop() ?? '';
      perJob.set(id, (perJob.get(id) ?? 0) + 1);
    }
    const twice = [...perJob].filter(([, k]) => k > 1);
    expect(twice, `[${LABEL}] jobs read upstream more than once`).toEqual([]);
    expect(perJob.size).toBe(n);
    h.sim.control.webhookMode('normal');
    const figures = await checkInvariants(h.db.db, h.db.sql, LABEL);
    await checkUpstream(h.db.sql, h.sim, LABEL);
    expect(figures.byStatus.failed ?? 0).toBeGreaterThan(0);
  });
});
