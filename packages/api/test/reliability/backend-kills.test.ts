// Backend kills under load: while tenants submit jobs (webhooks, poller and resolver running), a
// seeded schedule terminates the gateway's Postgres backends one at a time (`pg_terminate_backend`,
// as a failover, a proxy restart or an administrator would), often in the middle of a ledger
// transaction or a grouped statement. Afterwards: no request got a 500 or hung, submits succeed again,
// every job is terminal and every invariant holds. This is what the postgres.js patch
// (patches/postgres@3.4.9.patch) is for: a dead backend's statements must never run, or half-run,
// on the connection the pool opens next. Rerun a failure with CHAOS_SEED=<seed>.

import { TRPCClientError } from '@trpc/client';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, type Client, type Harness, startHarness, waitFor } from '../harness.ts';
import { chaosSeed, FULL_SCALE, prng, settleAndCheck } from './support.ts';

const SEED = chaosSeed();
const KILLS = FULL_SCALE ? 300 : 40;
const LANES = 8;
const LABEL = `backend kills, CHAOS_SEED=${SEED}`;
/** A submit with no answer by then has hung: the failure this test exists to catch. */
const REQUEST_BOUND_MS = 20_000;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    sim: { autoAdvance: true, pendingMs: 5, processingMs: 5 },
    autoStartWorkers: true,
    pollIntervalMs: 100,
    unknownJobGraceMs: 1_500,
    // A hold whose commit was cut off may have committed without the gateway knowing: such a job
    // stays `submitting` until presumed interrupted (≥ the submit timeout + 2 s, as env.ts demands).
    submitTimeoutMs: 1_000,
    staleSubmittingMs: 3_000,
    dbPoolMax: 6,
    // The gateway gets a pool of its own: the kills must not hit the test's checks.
    gatewayDatabaseUrl: async (url) => url,
  });
});

afterAll(async () => {
  await h?.close();
});

it(`${KILLS} backend kills during submits keep every invariant`, async () => {
  console.info(`[${LABEL}] ${KILLS} kills`);
  const rnd = prng(SEED);
  const tenants: Client[] = [];
  for (let i = 0; i < 4; i++) tenants.push((await h.createTenant({ balanceMicroCents: 1e12 })).client);

  const outcomes: Record<string, number> = {};
  const count = (k: string) => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  let stop = false;
  let n = 0;
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    while (!stop) {
      const client = tenants[lane % tenants.length] as Client;
      try {
        const job = await client.jobs.submit.mutate(
          { model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: `kill-${SEED}-${n++}` },
          { signal: AbortSignal.timeout(REQUEST_BOUND_MS) },
        );
        count(job.status);
      } catch (err) {
        if (!(err instanceof TRPCClientError)) throw err;
        const data = err.data as { code?: string; reason?: string; httpStatus?: number } | undefined;
        count(data ? `${data.httpStatus} ${data.code}/${data.reason}` : `no answer: ${err.message}`);
        await new Promise((resolve) => setTimeout(resolve, 10)); // a client backing off, not an assertion
      }
    }
  });

  // The killer has its own connection (another application_name: it never kills itself) and only
  // ever targets this test file's database.
  const killer = postgres(h.db.url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'killer' },
  });
  let killed = 0;
  try {
    await waitFor(async () => (outcomes.pending ?? 0) >= 20, {
      timeoutMs: 30_000,
      what: `[${LABEL}] load running`,
    });
    while (killed < KILLS) {
      await new Promise((resolve) => setTimeout(resolve, rnd.int(20, 120)));
      const victims = await killer<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'tollgate' AND pid <> pg_backend_pid()`;
      if (victims.length === 0) continue;
      const victim = rnd.pick(victims);
      await killer`SELECT pg_terminate_backend(${victim.pid})`;
      killed++;
    }
    // Once the kills stop, the gateway serves again by itself.
    const okBefore = outcomes.pending ?? 0;
    await waitFor(async () => (outcomes.pending ?? 0) >= okBefore + 20, {
      timeoutMs: 30_000,
      what: `[${LABEL}] submits succeed again after the kills`,
    });
  } finally {
    stop = true;
    await Promise.all(lanes);
    await killer.end({ timeout: 5 });
  }

  console.info(`[${LABEL}] submit answers: ${JSON.stringify(outcomes)}`);
  for (const [k, v] of Object.entries(outcomes)) {
    expect(k.startsWith('500') || k.startsWith('no answer'), `[${LABEL}] ${v} × ${k}`).toBe(false);
  }
  const figures = await settleAndCheck(h.db, h.sim, LABEL, 120_000);
  console.info(
    `[${LABEL}] jobs by final status: ${JSON.stringify(figures.byStatus)}, needs_review ${figures.needsReview}`,
  );
}, 300_000);
