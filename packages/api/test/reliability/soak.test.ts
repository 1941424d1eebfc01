// Soak: steady load through the gateway (webhooks, poller and resolver all running) while memory and
// open connections are sampled; both must stay flat and the ledger must reconcile at the end.
// `pnpm test` runs a short version; `pnpm test:chaos --soak` runs CHAOS_SOAK_MINUTES (default 10).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, type Client, type Harness, startHarness, waitFor } from '../harness.ts';
import { chaosSeed, checkInvariants, prng } from './support.ts';

const SOAK = process.env.CHAOS_SOAK === '1';
const DURATION_MS = SOAK ? Number(process.env.CHAOS_SOAK_MINUTES ?? 10) * 60_000 : 15_000;
const RATE_PER_SECOND = SOAK ? 40 : 10;
const SEED = chaosSeed();
const LABEL = `soak ${Math.round(DURATION_MS / 1000)}s, CHAOS_SEED=${SEED}`;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    sim: { autoAdvance: true, pendingMs: 20, processingMs: 20 },
    autoStartWorkers: true,
    pollIntervalMs: 200,
    dbPoolMax: 10,
  });
});
afterAll(async () => {
  await h?.close();
});

type Sample = { atS: number; heapMb: number; rssMb: number; pgConnections: number; httpSockets: number };

it(
  `steady load keeps memory and connections flat (${LABEL})`,
  async () => {
    const rnd = prng(SEED);
    const tenants: Client[] = [];
    for (let i = 0; i < 4; i++)
      tenants.push((await h.createTenant({ balanceMicroCents: 1_000_000_000_000 })).client);
    const samples: Sample[] = [];
    const sample = async (start: number) => {
      gc();
      const [pg] = await h.db.sql<{ n: bigint }[]>`
      SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE datname = current_database()`;
      const m = process.memoryUsage();
      samples.push({
        atS: Math.round((Date.now() - start) / 1000),
        heapMb: Math.round(m.heapUsed / 1e5) / 10,
        rssMb: Math.round(m.rss / 1e5) / 10,
        pgConnections: Number(pg?.n ?? 0),
        httpSockets: (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
      });
    };

    const start = Date.now();
    let sent = 0;
    let failed = 0;
    const inflight = new Set<Promise<void>>();
    let nextSample = start;
    // Fixed-rate open loop: one submit every 1000/RATE ms, whatever the latency (no coordinated omission).
    while (Date.now() - start < DURATION_MS) {
      const due = start + (sent * 1000) / RATE_PER_SECOND;
      if (Date.now() >= nextSample) {
        await sample(start);
        nextSample += Math.max(2_000, DURATION_MS / 20);
      }
      if (Date.now() < due) {
        await new Promise((r) => setTimeout(r, due - Date.now()));
        continue;
      }
      const p = (async () => {
        try {
          await rnd.pick(tenants).jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
        } catch {
          failed++;
        }
      })();
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      sent++;
    }
    await Promise.all(inflight);
    await waitFor(
      async () => {
        const [r] = await h.db.sql<{ n: bigint }[]>`
        SELECT count(*)::bigint AS n FROM jobs WHERE status IN ('submitting', 'pending', 'processing', 'unknown')`;
        return r?.n === 0n;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `[${LABEL}] jobs drained` },
    );
    await sample(start);
    console.info(
      `[${LABEL}] ${sent} submits, ${failed} failed; samples:\n${samples.map((s) => JSON.stringify(s)).join('\n')}`,
    );

    expect(failed, `[${LABEL}] submits failed under steady load`).toBe(0);
    // Compare the second quarter (warm) to the end: flat means bounded growth, not a trend per request.
    const warm = samples[Math.floor(samples.length / 4)] ?? samples[0];
    const last = samples[samples.length - 1];
    if (!warm || !last) throw new Error('no samples');
    expect(last.heapMb, `[${LABEL}] heap grew from ${warm.heapMb} to ${last.heapMb} MB`).toBeLessThan(
      warm.heapMb * 1.5 + 20,
    );
    const maxPg = Math.max(...samples.map((s) => s.pgConnections));
    expect(maxPg, `[${LABEL}] Postgres connections stay within the pools`).toBeLessThanOrEqual(10 + 2 + 2);
    expect(last.httpSockets, `[${LABEL}] handles stay bounded`).toBeLessThan(warm.httpSockets + 50);
    await checkInvariants(h.db.db, h.db.sql, LABEL);
  },
  DURATION_MS + 180_000,
);
