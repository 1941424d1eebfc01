// Issue 23 (money items): what an adversarial review found, end to end through the real gateway,
// the Pixelbyte simulator and Postgres. Each case failed before its fix (docs/reliability.md, attack table).
import { jobs } from '@tollgate/db';
import { captureJob, openJob } from '@tollgate/db/ledger';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Harness,
  makeClient,
  rowCounts,
  startHarness,
  waitFor,
} from './harness.ts';

const BALANCE = 1_000_000;

describe('money hardening (issue 23)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ unknownJobGraceMs: 1_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  async function jobRow(id: string) {
    const [row] = await h.db.db.select().from(jobs).where(eq(jobs.id, id));
    if (!row) throw new Error(`no job ${id}`);
    return row;
  }

  it('one upstream job named for two of our jobs: the second is not captured, stays unknown, is flagged, listed by reconcile and released after the grace', async () => {
    const first = await h.createTenant({ balanceMicroCents: BALANCE });
    const second = await h.createTenant({ balanceMicroCents: BALANCE });
    const created = h.sim.control.counts().jobsCreated;
    const a = await first.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(a.status).toBe('pending');
    // Pixelbyte misbehaves: the next submit creates nothing and is answered with job A's id and cost.
    h.sim.control.answerWithPreviousJobNextSubmits(1);
    const b = await second.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(h.sim.control.counts().jobsCreated, 'one upstream job for both submits').toBe(created + 1);
    expect(b).toMatchObject({ status: 'unknown', upstreamJobId: null, costMicroCents: CHEAP_PRICE });
    expect(b.error?.code).toBe('UPSTREAM_JOB_ID_TAKEN');
    // Not charged: the money is still held, as for any unknown outcome.
    expect(await second.client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: CHEAP_PRICE,
    });
    const row = await jobRow(b.id);
    expect(row).toMatchObject({
      needsReview: true,
      collidedUpstreamJobId: a.upstreamJobId,
      upstreamJobId: null,
    });

    const report = await h.admin.admin.reconcile.query();
    expect(report.flags).toContainEqual(
      expect.objectContaining({ kind: 'UPSTREAM_JOB_ID_COLLISION', jobId: b.id, tenantId: second.tenantId }),
    );
    const flag = report.flags.find((f) => f.kind === 'UPSTREAM_JOB_ID_COLLISION' && f.jobId === b.id);
    expect(flag?.details).toContain(a.id);
    // Finance finds it among the jobs to review, with the id it collided on.
    const review = await h.admin.admin.jobs.list.query({ tenantId: second.tenantId, needsReview: true });
    expect(review.items.map((j) => [j.id, j.collidedUpstreamJobId])).toEqual([[b.id, a.upstreamJobId]]);

    // The upstream job finishes: job A completes; job B (no upstream id) is left to the unknown path.
    await h.sim.control.advance(a.upstreamJobId ?? '', 'completed');
    await waitFor(async () => (await first.client.jobs.get.query({ id: a.id })).status === 'completed', {
      what: 'job A completed',
    });
    const released = await waitFor(
      async () => {
        await h.gateway.unknownResolver.runOnce();
        const j = await second.client.jobs.get.query({ id: b.id });
        return j.status === 'rejected' ? j : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'job B released after the grace' },
    );
    expect(released.refundedMicroCents).toBe(0);
    expect(await second.client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    expect(await first.client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    // Still listed once resolved: finance sees the collision whatever became of the job.
    const after = await h.admin.admin.reconcile.query();
    expect(after.flags.map((f) => [f.kind, f.jobId])).toContainEqual(['UPSTREAM_JOB_ID_COLLISION', b.id]);
    await h.expectReconciled();
  });

  it('a completed job whose upstream cost was never learned is flagged UPSTREAM_COST_UNKNOWN, and usage counts it apart from margin', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: BALANCE });
    // Usage periods are whole UTC days (the daily roll-up): from yesterday's midnight…
    const from = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000).toISOString();
    // The submit's answer is lost: the webhook captures the job, but Pixelbyte's charge is not in it.
    h.sim.control.loseAnswerNextSubmits(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    const simJob = h.sim.control.jobs().find((j) => j.webhookUrl?.includes(job.id));
    await h.sim.control.advance(simJob?.jobId ?? '', 'completed');
    await waitFor(async () => (await client.jobs.get.query({ id: job.id })).status === 'completed', {
      what: 'the webhook completed the job',
    });
    // And one job of the same tenant whose cost is known, for contrast.
    const known = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await h.sim.control.advance(known.upstreamJobId ?? '', 'completed');
    await waitFor(async () => (await client.jobs.get.query({ id: known.id })).status === 'completed');

    const report = await h.admin.admin.reconcile.query();
    const flagged = report.flags.filter((f) => f.kind === 'UPSTREAM_COST_UNKNOWN' && f.tenantId === tenantId);
    expect(flagged.map((f) => f.jobId)).toEqual([job.id]);

    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'finance-ann' }));
    // …to tomorrow's.
    const to = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000).toISOString();
    const usage = await finance.finance.usage.query({ from, to, groupBy: ['tenant'] });
    const row = usage.rows.find((r) => r.tenantId === tenantId);
    expect(row).toMatchObject({
      completedJobs: 2,
      chargedMicroCents: 2 * CHEAP_PRICE,
      upstreamCostMicroCents: CHEAP_PRICE,
      upstreamCostUnknownJobs: 1,
      upstreamCostUnknownChargedMicroCents: CHEAP_PRICE,
      marginIncludesUpstreamCostUnknown: true,
      // The margin counts the unknown job's whole charge (its cost as 0), as the row says.
      marginMicroCents: CHEAP_PRICE,
    });
    expect(usage.totals.upstreamCostUnknownJobs).toBeGreaterThanOrEqual(1);
    expect(usage.totals.marginIncludesUpstreamCostUnknown).toBe(true);
    await h.expectReconciled();
  });

  it('the database refuses a second link to one upstream job, whatever code tries it', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const a = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const b = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await expect(
      h.db.db.execute(sql`UPDATE jobs SET upstream_job_id = ${a.upstreamJobId} WHERE id = ${b.id}`),
    ).rejects.toMatchObject({ cause: expect.objectContaining({ code: '23505' }) });
  });

  it('a cancel answered "cancelled" that then reads completed: charged as upstream says, never refunded, flagged', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // Pixelbyte answers 200 { status: 'cancelled' } but cancels nothing; the read-back fails.
    h.sim.control.misanswerNextCancels({ status: 'cancelled' });
    h.sim.control.failNextStatusReads({ status: 503, code: 'PUBSUB_PUBLISH_FAILED' });
    const answer = await client.jobs.cancel.mutate({ id: job.id });
    expect(answer, 'the answer alone refunds nothing').toMatchObject({
      status: 'pending',
      refundedMicroCents: 0,
    });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    const done = await waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'completed' ? j : null;
    });
    expect(done.refundedMicroCents).toBe(0);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    expect((await jobRow(job.id)).needsReview).toBe(true);
    const review = await h.admin.admin.jobs.list.query({ tenantId, needsReview: true });
    expect(review.items).toEqual([
      expect.objectContaining({ id: job.id, status: 'completed', cancelAnsweredAt: expect.any(String) }),
    ]);
    const report = await h.admin.admin.reconcile.query();
    expect(report.flags).toContainEqual(
      expect.objectContaining({ kind: 'NEEDS_REVIEW', jobId: job.id, tenantId }),
    );
    await h.expectReconciled();
  });

  it('a cancel answered "cancelled" that then reads failed: refunded once (Pixelbyte refunds failures), flagged', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    h.sim.control.misanswerNextCancels({ status: 'cancelled' });
    const answer = await client.jobs.cancel.mutate({ id: job.id });
    // The read-back worked and says pending: no refund on the cancel's word.
    expect(answer).toMatchObject({ status: 'pending', refundedMicroCents: 0 });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'failed');
    const failed = await waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'failed' ? j : null;
    });
    expect(failed.refundedMicroCents).toBe(CHEAP_PRICE);
    expect((await client.account.get.query()).availableMicroCents).toBe(BALANCE);
    expect((await jobRow(job.id)).needsReview).toBe(true);
    await h.expectReconciled();
  });

  it('a cancel answered "cancelled" and read cancelled is refunded once and not flagged', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const cancelled = await client.jobs.cancel.mutate({ id: job.id });
    expect(cancelled).toMatchObject({ status: 'cancelled', refundedMicroCents: CHEAP_PRICE });
    expect((await jobRow(job.id)).needsReview).toBe(false);
    await h.expectReconciled();
  });
});

describe('amounts that are not exact integers in the request text (issue 23, item 5)', () => {
  let h: Harness;
  let adminToken: string;
  beforeAll(async () => {
    h = await startHarness();
    adminToken = await h.token({ role: 'admin', sub: 'test-admin' });
  });
  afterAll(async () => {
    await h.close();
  });

  const call = (token: string, path: string, body: string, init: RequestInit = {}) =>
    fetch(`${h.url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      ...init,
    });
  type TrpcErrorBody = {
    error: { message: string; data: { code: string; reason: string; httpStatus: number; details: unknown } };
  };

  it.each(['799999.99999999999', '1e3', '1000.0', '1E3', '-0.0'])(
    'topUp with amountMicroCents %s → 400 naming the field, nothing credited',
    async (literal) => {
      const { tenantId, client } = await h.createTenant({ balanceMicroCents: 0 });
      const before = await rowCounts(h.db);
      const res = await call(
        adminToken,
        'admin.credits.topUp',
        `{"tenantId":"${tenantId}","amountMicroCents":${literal},"reference":"INV-${literal}"}`,
      );
      expect(res.status).toBe(400);
      const body = (await res.json()) as TrpcErrorBody;
      expect(body.error.data).toMatchObject({
        code: 'BAD_REQUEST',
        reason: 'INVALID_INPUT',
        httpStatus: 400,
      });
      expect(body.error.data.details).toEqual({
        issues: [
          { path: 'amountMicroCents', code: 'inexact_amount', message: expect.stringContaining(literal) },
        ],
      });
      expect(await rowCounts(h.db)).toEqual(before);
      expect((await client.account.get.query()).availableMicroCents).toBe(0);
    },
  );

  it('the same amount written as an integer is accepted, and numbers inside strings are not amounts', async () => {
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 0 });
    const ok = await call(
      adminToken,
      'admin.credits.topUp',
      `{"tenantId":"${tenantId}","amountMicroCents":1000,"reference":"\\"amountMicroCents\\": 1.5e3 (v2.0)"}`,
    );
    expect(ok.status).toBe(200);
    expect((await client.account.get.query()).availableMicroCents).toBe(1000);
  });

  it('every money input is covered: adjust, maxCostMicroCents, limits, in a batch and in a query', async () => {
    const { tenantId, token } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const before = await rowCounts(h.db);
    const refused: Response[] = [
      await call(
        adminToken,
        'admin.credits.adjust',
        `{"tenantId":"${tenantId}","amountMicroCents":-5e2,"reason":"x"}`,
      ),
      await call(
        token,
        'jobs.submit',
        `{"model":"${CHEAP_MODEL}","input":{"prompt":"a fox"},"maxCostMicroCents":40000.000}`,
      ),
      await call(
        adminToken,
        'admin.tenants.update',
        `{"tenantId":"${tenantId}","limits":{"dailySpendLimitMicroCents":1.5e6}}`,
      ),
      await call(
        adminToken,
        'admin.credits.topUp,admin.credits.topUp?batch=1',
        `{"0":{"tenantId":"${tenantId}","amountMicroCents":1,"reference":"b0"},"1":{"tenantId":"${tenantId}","amountMicroCents":2.0,"reference":"b1"}}`,
      ),
      await fetch(
        `${h.url}/trpc/admin.tenants.list?input=${encodeURIComponent('{"minAvailableMicroCents":1e2}')}`,
        { headers: { authorization: `Bearer ${adminToken}` } },
      ),
    ];
    for (const res of refused) {
      expect(res.status).toBe(400);
      const body = (await res.json()) as TrpcErrorBody | TrpcErrorBody[];
      for (const b of Array.isArray(body) ? body : [body]) {
        expect(b.error.data).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
        expect(b.error.message).toContain('not an exact integer');
      }
    }
    expect(await rowCounts(h.db)).toEqual(before);
  });
});

describe('totals past 2^53 (issue 23, item 6)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  // About $5 billion each: every balance fits a JSON number exactly, their sum does not.
  const FIVE_BILLION_USD = 5_000_000_000_000_000n;
  const TWICE = 2n * FIVE_BILLION_USD; // 10^16 > 2^53 − 1 = 9,007,199,254,740,991

  it('finance.balances, finance.usage and admin.reconcile answer sums past 2^53 exactly (strings beside null numbers), also after the balances are spent', async () => {
    // Usage periods are whole UTC days (the daily roll-up): from yesterday's midnight…
    const from = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000).toISOString();
    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'finance-big' }));
    const tenants = [
      await h.createTenant({ balanceMicroCents: 0 }),
      await h.createTenant({ balanceMicroCents: 0 }),
    ];
    for (const [i, t] of tenants.entries()) {
      await h.admin.admin.credits.topUp.mutate({
        tenantId: t.tenantId,
        amountMicroCents: FIVE_BILLION_USD.toString(),
        reference: `WIRE-BIG-${i}`,
      });
    }
    const balances = await finance.finance.balances.query();
    expect(balances.balanced).toBe(true);
    expect(balances.tenants.filter((t) => t.availableMicroCents === Number(FIVE_BILLION_USD))).toHaveLength(
      2,
    );
    expect(balances.totals).toMatchObject({
      availableMicroCents: null,
      availableMicroCentsExact: TWICE.toString(),
    });
    expect(balances.platform).toMatchObject({
      fundingMicroCents: null,
      fundingMicroCentsExact: (-TWICE).toString(),
      revenueMicroCents: 0,
      revenueMicroCentsExact: '0',
    });

    // Each tenant spends it all on one job (the ledger's own calls: no price list has such a model).
    for (const [i, t] of tenants.entries()) {
      const opened = await openJob(h.db.db, {
        tenantId: t.tenantId,
        model: CHEAP_MODEL,
        input: CHEAP_INPUT,
        quoteMicroCents: FIVE_BILLION_USD,
        listCostMicroCents: FIVE_BILLION_USD,
        priceVersion: 'test-big',
        fingerprint: `big-${i}`,
        tags: [],
      });
      if (!opened.ok) throw new Error(`open: ${opened.reason}`);
      await captureJob(h.db.db, {
        jobId: opened.job.id,
        upstreamJobId: `job_big_${i}_${t.tenantId}`,
        upstreamCostMicroCents: FIVE_BILLION_USD,
        estimatedCompletionTime: null,
      });
    }
    // Balances are back near zero; the cumulative funding and revenue totals stay past 2^53.
    const after = await finance.finance.balances.query();
    expect(after.balanced).toBe(true);
    expect(after.totals).toMatchObject({ availableMicroCents: 0, heldMicroCents: 0 });
    expect(after.platform).toMatchObject({
      fundingMicroCents: null,
      fundingMicroCentsExact: (-TWICE).toString(),
      revenueMicroCents: null,
      revenueMicroCentsExact: TWICE.toString(),
    });

    // …to tomorrow's.
    const to = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000).toISOString();
    const usage = await finance.finance.usage.query({ from, to, groupBy: ['tenant'] });
    expect(usage.totals).toMatchObject({
      chargedMicroCents: null,
      chargedMicroCentsExact: TWICE.toString(),
      upstreamCostMicroCents: null,
      upstreamCostMicroCentsExact: TWICE.toString(),
      marginMicroCents: 0,
      marginMicroCentsExact: '0',
    });
    for (const t of tenants) {
      expect(usage.rows.find((r) => r.tenantId === t.tenantId)).toMatchObject({
        chargedMicroCents: Number(FIVE_BILLION_USD),
        chargedMicroCentsExact: FIVE_BILLION_USD.toString(),
      });
    }
    const reconciled = await h.admin.admin.reconcile.query();
    expect(reconciled.ok).toBe(true);
    expect(reconciled.totals).toMatchObject({
      chargedMicroCents: null,
      chargedMicroCentsExact: TWICE.toString(),
    });
    // The CSV carries integers as text: exact at any size.
    const csv = await fetch(
      `${h.url}/reports/usage.csv?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&groupBy=`,
      { headers: { authorization: `Bearer ${await h.token({ role: 'finance', sub: 'finance-big' })}` } },
    );
    expect(csv.status).toBe(200);
    expect(await csv.text()).toContain(TWICE.toString());
    await h.expectReconciled();
  });
});
