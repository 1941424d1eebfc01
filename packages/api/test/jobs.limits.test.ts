import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  startHarness,
} from './harness.ts';

describe('jobs: tenant limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('max concurrent jobs → TOO_MANY_REQUESTS CONCURRENT_JOBS_LIMIT with Retry-After; a finished job frees the slot', async () => {
    const { client, token } = await h.createTenant({
      balanceMicroCents: 1_000_000,
      limits: { maxConcurrentJobs: 1 },
    });
    const first = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'CONCURRENT_JOBS_LIMIT', httpStatus: 429 });
    expect(e.details).toMatchObject({ limit: 1 });
    // Retry-After: until the tenant's first job in progress is expected to end (upstream's estimate).
    const retryAfter = async () => {
      const res = await fetch(`${h.url}/trpc/jobs.submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
      });
      const body = (await res.json()) as {
        error: { data: { reason: string; details: { retryAfterSeconds: number } } };
      };
      expect(res.status).toBe(429);
      expect(body.error.data.reason).toBe('CONCURRENT_JOBS_LIMIT');
      expect(res.headers.get('retry-after')).toBe(String(body.error.data.details.retryAfterSeconds));
      return body.error.data.details.retryAfterSeconds;
    };
    await h.db
      .sql`UPDATE jobs SET estimated_completion_time = now() + interval '20 seconds' WHERE id = ${first.id}`;
    expect([19, 20]).toContain(await retryAfter());
    await h.db
      .sql`UPDATE jobs SET estimated_completion_time = now() - interval '1 minute' WHERE id = ${first.id}`;
    expect(await retryAfter(), 'a late job: retry at once (1 s)').toBe(1);
    await h.db
      .sql`UPDATE jobs SET estimated_completion_time = now() + interval '1 hour' WHERE id = ${first.id}`;
    expect(await retryAfter(), 'capped').toBe(60);
    await h.db.sql`UPDATE jobs SET estimated_completion_time = NULL WHERE id = ${first.id}`;
    expect(await retryAfter(), 'no estimate').toBe(5);
    await h.sim.control.advance(first.upstreamJobId ?? '', 'completed');
    const second = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(second.status).toBe('pending');
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - 2 * CHEAP_PRICE);
    await h.expectReconciled();
  });

  it('daily spend limit → TOO_MANY_REQUESTS DAILY_SPEND_LIMIT with Retry-After', async () => {
    const { client, token } = await h.createTenant({
      balanceMicroCents: 1_000_000,
      limits: { dailySpendLimitMicroCents: CHEAP_PRICE },
    });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'DAILY_SPEND_LIMIT' });
    expect(e.details?.retryAfterSeconds).toEqual(expect.any(Number));
    const raw = await fetch(`${h.url}/trpc/jobs.submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE);
  });
});
