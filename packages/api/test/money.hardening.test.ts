// Issue 23 (money items): what an adversarial review found, end to end through the real gateway,
// the Pixelbyte simulator and Postgres. Each case failed before its fix (docs/reliability.md, attack table).
import { jobs } from '@tollgate/db';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Harness,
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
