// Upstream chaos: thousands of jobs through the real gateway and simulator while a seeded schedule
// injects upstream errors, hangs, lost answers, slow answers, failed jobs, flaky status reads and
// duplicate / late / out-of-order / missing webhooks. Afterwards every job is terminal, the money
// adds up (Σ captures − Σ refunds = Σ prices of completed jobs), no submit made two upstream jobs,
// no request ever got a 500, and the ledger reconciles. Rerun a failure with CHAOS_SEED=<seed>.

import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, type Client, type Harness, startHarness } from '../harness.ts';
import { chaosSeed, FULL_SCALE, prng, settleAndCheck } from './support.ts';

const SEED = chaosSeed();
const JOBS = Number(process.env.CHAOS_JOBS ?? (FULL_SCALE ? 10_000 : 2_000));
const BATCH = 40;
const LABEL = `upstream chaos, CHAOS_SEED=${SEED}`;

const REJECTIONS = [
  'INTERNAL_ERROR',
  'PUBSUB_PUBLISH_FAILED',
  'INSUFFICIENT_BALANCE',
  'CONCURRENT_JOBS_EXCEEDED',
  'INVALID_INPUT',
  'MODEL_ACCESS_DENIED',
] as const;
const WEBHOOK_MODES = ['normal', 'normal', 'duplicate', 'delayed', 'out_of_order', 'none'] as const;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    sim: {
      autoAdvance: true,
      pendingMs: 5,
      processingMs: 5,
      webhooks: { retryDelaysMs: [50, 100, 200] },
    },
    submitTimeoutMs: 300,
    unknownJobGraceMs: 1_500,
    autoStartWorkers: true,
    pollIntervalMs: 100,
    dbPoolMax: 10,
  });
});

afterAll(async () => {
  await h?.close();
});

it(`${JOBS} jobs under a seeded mix of upstream faults keep every invariant`, async () => {
  console.info(`[${LABEL}] ${JOBS} jobs`);
  const rnd = prng(SEED);
  const tenants: Client[] = [];
  for (let i = 0; i < 8; i++) {
    tenants.push((await h.createTenant({ balanceMicroCents: 1_000_000_000_000 })).client);
  }
  const faults: Record<string, number> = {};
  const count = (k: string, n = 1) => {
    faults[k] = (faults[k] ?? 0) + n;
  };
  const outcomes: Record<string, number> = {};
  const ctl = h.sim.control;

  for (let done = 0; done < JOBS; done += BATCH) {
    const size = Math.min(BATCH, JOBS - done);
    // This round's faults (counts apply to the next submits/reads, whichever request comes first).
    if (rnd.chance(0.5)) {
      const n = rnd.int(1, 3);
      ctl.failNextSubmits({ code: rnd.pick(REJECTIONS), count: n });
      count('upstream error', n);
    }
    if (rnd.chance(0.15)) {
      const n = rnd.int(1, 2);
      ctl.hangNextSubmits(n);
      count('hung submit', n);
    }
    if (rnd.chance(0.3)) {
      const n = rnd.int(1, 3);
      ctl.loseAnswerNextSubmits(n);
      count('lost answer', n);
    }
    if (rnd.chance(0.3)) {
      const n = rnd.int(1, 4);
      ctl.failNextStatusReads({ status: 503, code: 'PUBSUB_PUBLISH_FAILED', count: n });
      count('failed status read', n);
    }
    const slow = rnd.chance(0.05);
    ctl.setLatencyMs(slow ? 400 : 0); // 400 ms > the 300 ms submit deadline: answered too late
    if (slow) count('slow round (answers after the deadline)');
    const mode = rnd.pick(WEBHOOK_MODES);
    ctl.webhookMode(mode, { delayMs: rnd.int(50, 1_000) });
    if (mode !== 'normal') count(`webhooks ${mode} round`);
    const failing = rnd.chance(0.2);
    ctl.setOutcome(failing ? 'failed' : 'completed');
    if (failing) count('failed-jobs round');

    await Promise.all(
      Array.from({ length: size }, async (_, i) => {
        const client = tenants[(done + i) % tenants.length] as Client;
        try {
          const job = await client.jobs.submit.mutate({
            model: CHEAP_MODEL,
            input: CHEAP_INPUT,
            idempotencyKey: `chaos-${SEED}-${done + i}`,
          });
          outcomes[job.status] = (outcomes[job.status] ?? 0) + 1;
        } catch (err) {
          if (!(err instanceof TRPCClientError)) throw err;
          const data = err.data as { code?: string; reason?: string; httpStatus?: number } | undefined;
          expect(data?.httpStatus, `[${LABEL}] a submit got ${data?.code}/${data?.reason}`).not.toBe(500);
          const k = `${data?.code}/${data?.reason}`;
          outcomes[k] = (outcomes[k] ?? 0) + 1;
        }
      }),
    );
  }
  ctl.setLatencyMs(0);
  ctl.webhookMode('normal');
  ctl.setOutcome('completed');

  const figures = await settleAndCheck(h.db, h.sim, LABEL, 180_000);
  console.info(
    `[${LABEL}] faults injected: ${JSON.stringify(faults)}\n  submit answers: ${JSON.stringify(outcomes)}\n  jobs by final status: ${JSON.stringify(figures.byStatus)}, needs_review ${figures.needsReview}\n  captured ${figures.capturedMicroCents} − refunded ${figures.refundedMicroCents} = completed ${figures.completedPricesMicroCents} micro-cents`,
  );
  expect(figures.jobs, `[${LABEL}] every submit that reached the ledger is a job`).toBeGreaterThan(0);
  expect(figures.byStatus.completed ?? 0, `[${LABEL}] most jobs complete`).toBeGreaterThan(JOBS / 3);
}, 600_000);
