// Test mode (product.md part 2, docs/test-mode.md): a test credential acts on the tenant's sandbox
// book, its jobs go to the built-in simulator, and nothing of it reaches live money, live jobs,
// live reports or the configured (real) upstream.
import { SANDBOX_START_MICRO_CENTS } from '@tollgate/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Client,
  expectTRPCError,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from './harness.ts';

const START = Number(SANDBOX_START_MICRO_CENTS);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ autoStartWorkers: true, pollIntervalMs: 50 });
});
afterAll(async () => {
  await h?.close();
});

/** A live tenant with `balance` of live money, its live client and a test-mode client. */
async function tenantWithTestClient(balance = 1_000_000) {
  const live = await h.createTenant({ balanceMicroCents: balance });
  const issued = await h.admin.admin.tenants.issueToken.mutate({ tenantId: live.tenantId, mode: 'test' });
  expect(issued.livemode).toBe(false);
  return { ...live, test: makeClient(h.url, issued.token) };
}

async function jobEnds(client: Client, id: string) {
  return waitFor(
    async () => {
      const j = await client.jobs.get.query({ id });
      return ['completed', 'failed', 'cancelled', 'rejected'].includes(j.status) ? j : null;
    },
    { what: `job ${id} to end`, timeoutMs: 15_000 },
  );
}

/** Requests the configured (live) upstream has received: test mode must leave it at zero. */
const liveUpstreamRequests = () => h.sim.control.requests().length;

describe('test mode', () => {
  it('opens a $100.00 test book on first use; the account says livemode: false and names the live tenant', async () => {
    const t = await tenantWithTestClient(7_000);
    const account = await t.test.account.get.query();
    expect(account).toMatchObject({ tenantId: t.tenantId, livemode: false, availableMicroCents: START });
    expect(await t.client.account.get.query()).toMatchObject({ livemode: true, availableMicroCents: 7_000 });
  });

  it('a tg_test_ key acts in test mode and a tg_live_ key in live mode; keys made in test mode belong to the tenant', async () => {
    const live = await h.createTenant({ balanceMicroCents: 9_000 });
    const testKey = await h.admin.admin.keys.create.mutate({
      tenantId: live.tenantId,
      name: 'ci',
      mode: 'test',
    });
    const liveKey = await h.admin.admin.keys.create.mutate({
      tenantId: live.tenantId,
      name: 'prod',
      mode: 'live',
    });
    const viaTest = makeClient(h.url, testKey.key);
    const viaLive = makeClient(h.url, liveKey.key);
    expect(await viaTest.account.get.query()).toMatchObject({
      tenantId: live.tenantId,
      livemode: false,
      availableMicroCents: START,
    });
    expect(await viaLive.account.get.query()).toMatchObject({
      tenantId: live.tenantId,
      livemode: true,
      availableMicroCents: 9_000,
    });
    const job = await viaTest.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.livemode).toBe(false);
    expect(await expectTRPCError(viaLive.jobs.get.query({ id: job.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    // A test key made by the tenant in test mode works, and is listed among the tenant's keys.
    const made = await viaTest.account.keys.create.mutate({ name: 'made in test mode', mode: 'test' });
    expect(await makeClient(h.url, made.key).account.get.query()).toMatchObject({ livemode: false });
    const listed = await h.admin.admin.keys.list.query({ tenantId: live.tenantId });
    expect(listed.items.map((k) => k.id)).toContain(made.id);
  });

  it('every magic outcome ends with the right status and moves money in the test book only', async () => {
    const before = liveUpstreamRequests();
    const t = await tenantWithTestClient(5_000);
    const submit = (prompt: string) => t.test.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt } });

    const done = await jobEnds(t.test, (await submit('a fox')).id);
    expect(done).toMatchObject({
      status: 'completed',
      livemode: false,
      tenantId: t.tenantId,
      costMicroCents: CHEAP_PRICE,
    });

    const failed = await jobEnds(t.test, (await submit('a fox [tollgate:fail]')).id);
    expect(failed).toMatchObject({ status: 'failed', refundedMicroCents: CHEAP_PRICE, livemode: false });

    const rejected = await expectTRPCError(submit('[tollgate:reject] a fox'));
    expect(rejected).toMatchObject({ code: 'BAD_REQUEST' });

    const unknown = await submit('a fox [tollgate:unknown]');
    expect(unknown.status).toBe('unknown');
    expect(
      await jobEnds(t.test, unknown.id),
      'the lost answer is resolved by the sandbox webhook',
    ).toMatchObject({
      status: 'completed',
      costMicroCents: CHEAP_PRICE,
    });

    const slow = await submit('a fox [tollgate:slow]');
    const processing = await waitFor(
      async () => {
        const j = await t.test.jobs.get.query({ id: slow.id });
        return j.status === 'processing' ? j : null;
      },
      { what: 'the slow job to be processing' },
    );
    expect(Date.parse(processing.estimatedCompletionTime ?? '') - Date.now()).toBeGreaterThan(50_000);

    // Charged: completed, unknown→completed and the slow one (held, then captured); refunded: failed.
    expect(await t.test.account.get.query()).toMatchObject({
      availableMicroCents: START - 3 * CHEAP_PRICE,
    });
    expect(await t.client.account.get.query(), 'the live book never moved').toMatchObject({
      availableMicroCents: 5_000,
      heldMicroCents: 0,
    });
    expect(liveUpstreamRequests(), 'no test job reached the configured upstream').toBe(before);
    const statement = await t.test.account.ledger.query({ limit: 100 });
    expect(statement.items.length).toBeGreaterThan(0);
    expect(statement.items.every((l) => l.livemode === false)).toBe(true);
    await h.expectReconciled();
  });

  it('a live job and a test job with the same idempotency key do not collide, and neither mode sees the other', async () => {
    const t = await tenantWithTestClient(1_000_000);
    const key = 'same-key-in-both-books';
    const live = await t.client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      idempotencyKey: key,
    });
    const test = await t.test.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      idempotencyKey: key,
    });
    expect(test.id).not.toBe(live.id);
    expect([live.livemode, test.livemode]).toEqual([true, false]);
    // Replays stay in their book.
    expect(
      (await t.test.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: key })).id,
    ).toBe(test.id);

    expect(await expectTRPCError(t.client.jobs.get.query({ id: test.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await expectTRPCError(t.test.jobs.get.query({ id: live.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await expectTRPCError(t.test.jobs.cancel.mutate({ id: live.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await t.client.jobs.list.query({ limit: 50 })).items.map((j) => j.id)).toEqual([live.id]);
    expect((await t.test.jobs.list.query({ limit: 50 })).items.map((j) => j.id)).toEqual([test.id]);
    expect(await t.client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
    });
    expect(await t.test.account.get.query()).toMatchObject({ availableMicroCents: START - CHEAP_PRICE });
  });

  it('a burst of test traffic leaves the live balances, live reports and the real upstream untouched', async () => {
    const t = await tenantWithTestClient(2_000_000);
    await t.test.account.get.query(); // open the book before the snapshot
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const liveBalances = await h.admin.finance.balances.query();
    const liveLedger = await h.admin.finance.ledger.query({
      from,
      to,
      limit: 1_000,
    });
    const upstream = liveUpstreamRequests();
    // Usage reports cover whole UTC days: yesterday to tomorrow, so a burst crossing midnight stays in.
    const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const days = {
      from: new Date(today - 86_400_000).toISOString(),
      to: new Date(today + 2 * 86_400_000).toISOString(),
    };
    const liveUsage = await h.admin.finance.usage.query({ ...days, groupBy: ['tenant'] });

    const burst = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        t.test.jobs.submit.mutate({
          model: CHEAP_MODEL,
          input: { prompt: `burst ${i}` },
          idempotencyKey: `burst-${i}`,
        }),
      ),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(30);
    for (const r of burst) if (r.status === 'fulfilled') await jobEnds(t.test, r.value.id);

    expect(await h.admin.finance.balances.query()).toEqual(liveBalances);
    expect(await h.admin.finance.ledger.query({ from, to, limit: 1_000 })).toEqual(liveLedger);
    expect(liveUpstreamRequests()).toBe(upstream);
    expect(await t.client.account.get.query()).toMatchObject({
      availableMicroCents: 2_000_000,
      heldMicroCents: 0,
    });
    expect(await h.admin.finance.usage.query({ ...days, groupBy: ['tenant'] })).toEqual(liveUsage);
    const testUsage = await h.admin.finance.usage.query({ ...days, groupBy: ['tenant'], mode: 'test' });
    expect(testUsage.rows.find((r) => r.tenantId === t.tenantId)).toMatchObject({
      jobs: 30,
      chargedMicroCents: 30 * CHEAP_PRICE,
    });
    const csv = await fetch(
      `${h.url}/reports/usage.csv?from=${days.from}&to=${days.to}&groupBy=tenant&mode=test`,
      { headers: { authorization: `Bearer ${await h.token({ role: 'finance', sub: 'fin' })}` } },
    );
    expect(await csv.text()).toContain(t.tenantId);

    const testBalances = await h.admin.finance.balances.query({ mode: 'test' });
    expect(testBalances.livemode).toBe(false);
    expect(testBalances.tenants.find((x) => x.tenantId === t.tenantId)).toMatchObject({
      availableMicroCents: START - 30 * CHEAP_PRICE,
    });
    expect(testBalances.balanced).toBe(true);
    const testLines = await h.admin.finance.ledger.query({
      from,
      to,
      tenantId: t.tenantId,
      mode: 'test',
      limit: 1_000,
    });
    expect(testLines.items.length).toBeGreaterThan(30);
    expect(
      testLines.items.every(
        (l) => l.livemode === false && (l.tenantId === null || l.tenantId === t.tenantId),
      ),
    ).toBe(true);
    await h.expectReconciled();
  });

  it('resetTestBalance: test mode only; puts the test balance back to $100.00', async () => {
    const t = await tenantWithTestClient(3_000);
    await t.test.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(await expectTRPCError(t.client.account.resetTestBalance.mutate())).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'TEST_MODE_ONLY',
    });
    expect(await t.test.account.resetTestBalance.mutate()).toMatchObject({
      livemode: false,
      availableMicroCents: START,
    });
    expect(await t.client.account.get.query()).toMatchObject({ availableMicroCents: 3_000 });
    await h.expectReconciled();
  });

  it('admins add test credit for free; it never shows in the live book', async () => {
    const t = await tenantWithTestClient(1_000);
    const credited = await h.admin.admin.credits.topUp.mutate({
      tenantId: t.tenantId,
      amountMicroCents: 25_000_000,
      reference: 'test credit',
      mode: 'test',
    });
    expect(credited).toMatchObject({ livemode: false, availableMicroCents: START + 25_000_000 });
    expect(await t.test.account.get.query()).toMatchObject({ availableMicroCents: START + 25_000_000 });
    expect(await t.client.account.get.query()).toMatchObject({ availableMicroCents: 1_000 });
  });

  it('a suspended tenant is suspended in test mode too; limits apply in test mode', async () => {
    const t = await tenantWithTestClient(1_000_000);
    await h.admin.admin.tenants.update.mutate({ tenantId: t.tenantId, limits: { maxConcurrentJobs: 1 } });
    await t.test.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: 'a fox [tollgate:slow]' } });
    expect(
      await expectTRPCError(t.test.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })),
    ).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      reason: 'CONCURRENT_JOBS_LIMIT',
    });
    await h.admin.admin.tenants.suspend.mutate({ tenantId: t.tenantId });
    expect(await expectTRPCError(t.test.account.get.query())).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'TENANT_SUSPENDED',
    });
  });
});
