import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  startHarness,
} from './harness.ts';

describe('jobs: concurrency', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ dbPoolMax: 20 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('50 concurrent identical submits with one idempotency key → one upstream job, one charge', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const submitsBefore = h.sim.control.counts().jobsCreated;
    const req = { model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'order-42' };
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => client.jobs.submit.mutate(req)),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = await Promise.all(
      results.flatMap((r) => (r.status === 'rejected' ? [expectTRPCError(Promise.reject(r.reason))] : [])),
    );
    expect(ok.length, 'at least the winner succeeded').toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((j) => j.id)).size, 'every success is the same job').toBe(1);
    for (const e of refused) expect(e).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_IN_FLIGHT' });
    expect(h.sim.control.counts().jobsCreated - submitsBefore, 'one upstream job').toBe(1);
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE);

    // After the first completes, a replay returns the same job (no second charge).
    const replay = await client.jobs.submit.mutate(req);
    expect(replay.id).toBe(ok[0]?.id);
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE);

    // Same key, different request → CONFLICT.
    const e = await expectTRPCError(
      client.jobs.submit.mutate({ ...req, input: { prompt: 'something else entirely' } }),
    );
    expect(e).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT', httpStatus: 409 });
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE);
    await h.expectReconciled();
  });

  it('200 concurrent submits against a balance for 100 → exactly 100 accepted, none overdrawn', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 100 * CHEAP_PRICE });
    const createdBefore = h.sim.control.counts().jobsCreated;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () =>
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = await Promise.all(
      results.flatMap((r) => (r.status === 'rejected' ? [expectTRPCError(Promise.reject(r.reason))] : [])),
    );
    expect(ok.length).toBe(100);
    expect(refused.length).toBe(100);
    for (const e of refused)
      expect(e).toMatchObject({ code: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE' });
    expect(h.sim.control.counts().jobsCreated - createdBefore).toBe(100);
    expect(await client.account.get.query()).toMatchObject({ availableMicroCents: 0, heldMicroCents: 0 });
    await h.expectReconciled();
  });
});
