// Money metrics (`tollgate_money_moved_micro_cents_total`) are counted from the ledger's results in
// one place (metrics.ts recordMoneyMovement), whichever path moves the money: submit, admin resolve,
// top-ups and adjustments. Read back from the real /metrics endpoint; each test compares the counter
// before and after its own calls (the file's gateway is its own, and no worker runs in the background).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, type Harness, makeClient, startHarness } from './harness.ts';

type Movement = 'held' | 'captured' | 'released' | 'refunded' | 'topped_up' | 'adjusted_up' | 'adjusted_down';

async function moneyMoved(h: Harness): Promise<(movement: Movement, mode?: 'live' | 'test') => number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return (movement, mode = 'live') => {
    const line = text
      .split('\n')
      .find((l) =>
        l.startsWith(`tollgate_money_moved_micro_cents_total{movement="${movement}",mode="${mode}"} `),
      );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
}

/** How much each movement's counter grew during `run`. */
async function countedDuring(h: Harness, run: () => Promise<unknown>) {
  const before = await moneyMoved(h);
  await run();
  const after = await moneyMoved(h);
  return (movement: Movement, mode: 'live' | 'test' = 'live') =>
    after(movement, mode) - before(movement, mode);
}

describe('money metrics: every path that moves money is counted, admin resolve included', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ submitTimeoutMs: 400 });
  });
  afterAll(async () => {
    await h.close();
  });

  async function unknownJob() {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    h.sim.control.hangNextSubmits(1);
    const job = await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    return job;
  }

  it('submit accepted: held then captured, nothing released or refunded', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const moved = await countedDuring(h, async () => {
      const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
      expect(job.status).toBe('pending');
    });
    expect(moved('held')).toBe(CHEAP_PRICE);
    expect(moved('captured')).toBe(CHEAP_PRICE);
    expect(moved('released')).toBe(0);
    expect(moved('refunded')).toBe(0);
    await h.expectReconciled();
  });

  it('submit refused upstream: held then released, nothing captured', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    h.sim.control.failNextSubmits({ code: 'INVALID_INPUT', status: 400, count: 1 });
    const moved = await countedDuring(h, () =>
      expect(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })).rejects.toThrow(),
    );
    expect(moved('held')).toBe(CHEAP_PRICE);
    expect(moved('released')).toBe(CHEAP_PRICE);
    expect(moved('captured')).toBe(0);
    await h.expectReconciled();
  });

  it('admin resolve of an unknown job by charge counts the capture', async () => {
    const job = await unknownJob();
    const moved = await countedDuring(h, () =>
      h.admin.admin.jobs.resolve.mutate({ jobId: job.id, decision: 'charge', reason: 'it ran' }),
    );
    expect(moved('captured')).toBe(CHEAP_PRICE);
    expect(moved('released')).toBe(0);
    await h.expectReconciled();
  });

  it('admin resolve of an unknown job by refund counts the release', async () => {
    const job = await unknownJob();
    const moved = await countedDuring(h, () =>
      h.admin.admin.jobs.resolve.mutate({ jobId: job.id, decision: 'refund', reason: 'never ran' }),
    );
    expect(moved('released')).toBe(CHEAP_PRICE);
    expect(moved('captured')).toBe(0);
    await h.expectReconciled();
  });

  it('admin resolve of a charged job: refund counts the refund, charge moves nothing', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const refunded = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const kept = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const byRefund = await countedDuring(h, () =>
      h.admin.admin.jobs.resolve.mutate({ jobId: refunded.id, decision: 'refund', reason: 'lost upstream' }),
    );
    expect(byRefund('refunded')).toBe(CHEAP_PRICE);
    const byCharge = await countedDuring(h, () =>
      h.admin.admin.jobs.resolve.mutate({ jobId: kept.id, decision: 'charge', reason: 'it ran' }),
    );
    for (const m of ['held', 'captured', 'released', 'refunded'] as const) {
      expect(byCharge(m), `${m} by charging a job already charged`).toBe(0);
    }
    await h.expectReconciled();
  });

  it('top-ups and adjustments are counted once (replays move nothing)', async () => {
    const { tenantId } = await h.createTenant();
    const topUp = () =>
      h.admin.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 500_000,
        idempotencyKey: `m-topup-${tenantId}`,
        reference: 'INV-metrics',
      });
    const moved = await countedDuring(h, async () => {
      await topUp();
      await topUp();
      await h.admin.admin.credits.adjust.mutate({ tenantId, amountMicroCents: 70_000, reason: 'goodwill' });
      await h.admin.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: -20_000,
        reason: 'correction',
      });
    });
    expect(moved('topped_up')).toBe(500_000);
    expect(moved('adjusted_up')).toBe(70_000);
    expect(moved('adjusted_down')).toBe(20_000);
    await h.expectReconciled();
  });

  it("test credit is counted in the test book: the sandbox's starting credit, then the top-up", async () => {
    const { tenantId } = await h.createTenant();
    const moved = await countedDuring(h, () =>
      h.admin.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 1_000_000,
        reference: 'test credit',
        mode: 'test',
      }),
    );
    expect(moved('topped_up', 'test')).toBe(100_000_000 + 1_000_000);
    expect(moved('topped_up', 'live')).toBe(0);
    await h.expectReconciled();
  });

  it('test mode: the sandbox opened on first use, the test job, then the balance reset, all in the test book', async () => {
    const { tenantId } = await h.createTenant();
    const issued = await h.admin.admin.tenants.issueToken.mutate({ tenantId, mode: 'test' });
    const test = makeClient(h.url, issued.token);
    const submitted = await countedDuring(h, () =>
      test.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    );
    expect(submitted('topped_up', 'test')).toBe(100_000_000);
    expect(submitted('held', 'test')).toBe(CHEAP_PRICE);
    expect(submitted('held', 'live')).toBe(0);
    const reset = await countedDuring(h, () => test.account.resetTestBalance.mutate());
    expect(reset('adjusted_up', 'test')).toBe(CHEAP_PRICE);
    expect(reset('adjusted_down', 'test')).toBe(0);
    await h.expectReconciled();
  });
});
