import { createDb } from '@tollgate/db/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, type Gateway, startGateway } from '../src/gateway.ts';
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

type Outcome = { ok: true } | { ok: false; code: string; reason: string; retryAfterSeconds?: unknown };

async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { ok: true };
  } catch {
    const e = await expectTRPCError(call);
    return { ok: false, code: e.code, reason: e.reason, retryAfterSeconds: e.details?.retryAfterSeconds };
  }
}

describe('tenant limits set by admins, enforced inside the hold', () => {
  let h: Harness;
  let second: Gateway;
  let closeSecondDb: () => Promise<void>;

  beforeAll(async () => {
    h = await startHarness({ dbPoolMax: 12 });
    // A second gateway instance: its own pool on the same database, its own HTTP server.
    const other = createDb(h.db.url, { max: 6 });
    closeSecondDb = other.close;
    const d = h.gateway.deps;
    second = await startGateway({
      deps: buildDeps({
        config: d.config,
        db: other.db,
        pixelbyte: d.pixelbyte,
        auth: d.auth,
        log: d.log,
        defaultMetrics: false,
      }),
      port: 0,
      host: '127.0.0.1',
      workers: {
        poll: { intervalMs: 1_000, concurrency: 1, batchSize: 10 },
        unknownResolverIntervalMs: 1_000,
        autoStart: false,
      },
    });
  });
  afterAll(async () => {
    await second.close({ timeoutMs: 2_000 });
    await closeSecondDb();
    await h.close();
  });

  it('max 3 concurrent jobs: 20 parallel submits → exactly 3 accepted, 17 CONCURRENT_JOBS_LIMIT', async () => {
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 10_000_000 });
    await h.admin.admin.tenants.update.mutate({ tenantId, limits: { maxConcurrentJobs: 3 } });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        outcome(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    const refused = results.filter((r): r is Extract<Outcome, { ok: false }> => !r.ok);
    expect(refused).toHaveLength(17);
    for (const r of refused)
      expect(r).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'CONCURRENT_JOBS_LIMIT' });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 10_000_000 - 3 * CHEAP_PRICE,
      activeJobs: 3,
    });
    await h.expectReconciled();
  });

  it('daily spend cap resets at the UTC day boundary decided by the DB clock', async () => {
    /** Seconds until the next UTC midnight on the DB clock. */
    const secondsToMidnight = async () => {
      const [r] = await h.db.sql<{ s: number }[]>`
        SELECT extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day')
                                  - (now() AT TIME ZONE 'UTC'))::float8 AS s`;
      return Number(r?.s);
    };
    // The real midnight would reset the counter mid-test: start at least 20 s before it.
    await waitFor(async () => (await secondsToMidnight()) > 20, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'more than 20 s before the DB clock’s midnight',
    });
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 10_000_000 });
    await h.admin.admin.tenants.update.mutate({
      tenantId,
      limits: { dailySpendLimitMicroCents: 2 * CHEAP_PRICE },
    });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'DAILY_SPEND_LIMIT', httpStatus: 429 });
    // Retry-after = the time left until the next UTC midnight on the DB clock.
    const left = await secondsToMidnight();
    expect(Number(e.details?.retryAfterSeconds)).toBeGreaterThan(0);
    expect(Math.abs(Number(e.details?.retryAfterSeconds) - left)).toBeLessThan(5);

    // Test-only arrangement standing in for "the DB clock passed midnight": the counter now belongs
    // to yesterday (UTC). The hold's UPDATE compares spend_day with today's date from now(), so the
    // next submit must reset the counter inline and be accepted.
    await h.db.sql`UPDATE tenant_balances SET spend_day = spend_day - 1 WHERE tenant_id = ${tenantId}`;
    expect((await client.account.get.query()).spentTodayMicroCents).toBe(0);
    const next = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(next.status).toBe('pending');
    expect((await client.account.get.query()).spentTodayMicroCents).toBe(CHEAP_PRICE);
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(
      await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })),
    ).toMatchObject({ reason: 'DAILY_SPEND_LIMIT' });
    await h.expectReconciled();
  });

  it('requests per minute are shared by two gateway instances on one database', async () => {
    const { tenantId, token } = await h.createTenant({ balanceMicroCents: 10_000_000 });
    await h.admin.admin.tenants.update.mutate({ tenantId, limits: { requestsPerMinute: 5 } });
    const a = makeClient(h.url, token);
    const b = makeClient(second.url, token);
    // The window is a fixed DB-clock minute: start early in one so the whole burst lands in it.
    await waitFor(
      async () => {
        const [r] = await h.db.sql<{ s: number }[]>`SELECT extract(second FROM now())::float8 AS s`;
        return Number(r?.s) < 45;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'the first 45 s of a DB-clock minute' },
    );
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        outcome((i % 2 === 0 ? a : b).jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })),
      ),
    );
    expect(
      results.filter((r) => r.ok),
      'accepted across both instances',
    ).toHaveLength(5);
    const refused = results.filter((r): r is Extract<Outcome, { ok: false }> => !r.ok);
    for (const r of refused) {
      expect(r).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMIT' });
      expect(Number(r.retryAfterSeconds)).toBeGreaterThan(0);
      expect(Number(r.retryAfterSeconds)).toBeLessThanOrEqual(60);
    }
    await h.expectReconciled();
  });
});
