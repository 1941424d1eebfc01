import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/router.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  rowCounts,
  startHarness,
  waitFor,
} from './harness.ts';

describe('jobs: happy path via webhook', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('submit → pending (charged the quote) → completed by the webhook, ledger reconciles', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, tags: ['demo'] });
    expect(job.status).toBe('pending');
    expect(job.costMicroCents).toBe(CHEAP_PRICE);
    expect(job.upstreamJobId).toMatch(/^job_/);
    expect(job.tags).toEqual(['demo']);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
      heldMicroCents: 0,
    });

    const simJob = h.sim.control.jobs().find((j) => j.jobId === job.upstreamJobId);
    expect(simJob?.webhookUrl, 'webhook URL handed to Pixelbyte').toContain(
      `/webhooks/pixelbyte/${job.id}?token=`,
    );
    expect(simJob?.request.headers.authorization).toBe(`Bearer ${h.sim.apiKey}`);

    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    const done = await waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'completed' ? j : null;
    });
    expect(done.output).toEqual(expect.any(String));
    expect(done.completedAt).not.toBeNull();
    expect(done.refundedMicroCents).toBe(0);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('applies the tenant markup to quotes and charges exactly the quote', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000, markupBps: 2_500 });
    const q = await client.pricing.quote.query({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(q.costMicroCents).toBe(50_000);
    expect(q.priceVersion).toEqual(expect.any(String));
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.costMicroCents).toBe(50_000);
    expect((await client.account.get.query()).availableMicroCents).toBe(950_000);
    const models = await client.models.list.query();
    const listed = models.items.find((m) => m.model === CHEAP_MODEL);
    expect(listed?.defaultCostMicroCents).toBe(50_000);
    expect(listed?.inputJsonSchema).toEqual(expect.objectContaining({ type: 'object' }));
  });

  it('cancel of a pending job refunds the charge once', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 500_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const cancelled = await client.jobs.cancel.mutate({ id: job.id });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.refundedMicroCents).toBe(CHEAP_PRICE);
    const again = await client.jobs.cancel.mutate({ id: job.id });
    expect(again.refundedMicroCents).toBe(CHEAP_PRICE);
    expect((await client.account.get.query()).availableMicroCents).toBe(500_000);
    await h.expectReconciled();
  });

  it('a cancel answered with another status is not a cancellation, even when the read-back fails', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 500_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // Pixelbyte answers 200 { status: 'processing' } and cancels nothing; the read-back then fails.
    h.sim.control.misanswerNextCancels({ status: 'processing' });
    h.sim.control.failNextStatusReads({ status: 503, code: 'PUBSUB_PUBLISH_FAILED' });
    const answer = await client.jobs.cancel.mutate({ id: job.id });
    expect(answer).toMatchObject({ status: 'pending', refundedMicroCents: 0 });
    expect((await client.account.get.query()).availableMicroCents, 'still charged').toBe(
      500_000 - CHEAP_PRICE,
    );
    // The job really is still running upstream, and finishes normally.
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    await waitFor(async () => (await client.jobs.get.query({ id: job.id })).status === 'completed', {
      what: 'the job completed (webhook)',
    });
    await h.expectReconciled();
  });

  it('lists jobs newest first with cursors, and shows the statement', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })).id);
    const p1 = await client.jobs.list.query({ limit: 2 });
    expect(p1.items.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = await client.jobs.list.query({ limit: 2, cursor: p1.nextCursor ?? '' });
    expect(p2.items.map((j) => j.id)).toEqual([ids[0]]);
    const statement = await client.account.ledger.query({ limit: 100 });
    expect(statement.items.length).toBeGreaterThanOrEqual(1 + 3 * 2);
  });

  it('maxCostMicroCents below the quote refuses before any money moves', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const before = await rowCounts(h.db);
    const e = await expectTRPCError(
      client.jobs.submit.mutate({
        model: CHEAP_MODEL,
        input: CHEAP_INPUT,
        maxCostMicroCents: CHEAP_PRICE - 1,
      }),
    );
    expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'MAX_COST_EXCEEDED', httpStatus: 400 });
    expect(e.details).toMatchObject({ costMicroCents: CHEAP_PRICE, maxCostMicroCents: CHEAP_PRICE - 1 });
    expect(await rowCounts(h.db)).toEqual(before);
  });

  it('insufficient balance → PAYMENT_REQUIRED with required and available amounts, nothing written', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: CHEAP_PRICE - 1 });
    const before = await rowCounts(h.db);
    const submitsBefore = h.sim.control.counts().submitsReceived;
    const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE', httpStatus: 402 });
    expect(e.details).toEqual({ requiredMicroCents: CHEAP_PRICE, availableMicroCents: CHEAP_PRICE - 1 });
    expect(e.requestId).toMatch(/^req_/);
    expect(h.sim.control.counts().submitsReceived, 'nothing forwarded').toBe(submitsBefore);
    expect(await rowCounts(h.db)).toEqual(before);
  });

  it('works with httpBatchLink (several calls in one request)', async () => {
    const { token } = await h.createTenant({ balanceMicroCents: 100_000 });
    const batch = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${h.url}/trpc`, headers: { authorization: `Bearer ${token}` } })],
    });
    const [account, quote] = await Promise.all([
      batch.account.get.query(),
      batch.pricing.quote.query({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    ]);
    expect(account.availableMicroCents).toBe(100_000);
    expect(quote.costMicroCents).toBe(CHEAP_PRICE);
  });

  it('serves health, readiness and metrics', async () => {
    expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, migrations: 'current' });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('tollgate_http_requests_total');
    expect(metrics).toMatch(/tollgate_upstream_calls_total\{operation="submit",outcome="ok"/);
    // The gauge counts jobs not yet ended (every such status, zeros included); ended ones are counted
    // by the transitions counter, so a scrape never scans the whole jobs table.
    for (const status of ['submitting', 'pending', 'processing', 'unknown']) {
      expect(metrics).toMatch(new RegExp(`tollgate_jobs\\{status="${status}"\\} \\d+`));
    }
    expect(metrics).not.toMatch(/tollgate_jobs\{status="completed"\}/);
    expect(metrics).toMatch(/tollgate_job_transitions_total\{to="completed"\} [1-9]/);
    expect(metrics).toContain('tollgate_money_moved_micro_cents_total{movement="captured",mode="live"}');
  });
});

describe('jobs: happy path via polling (no webhooks)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ webhooks: false });
  });
  afterAll(async () => {
    await h.close();
  });

  it('submit → completed by the poller', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(h.sim.control.jobs().find((j) => j.jobId === job.upstreamJobId)?.webhookUrl).toBeNull();
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    const done = await waitFor(
      async () => {
        await h.gateway.poller.runOnce();
        const j = await client.jobs.get.query({ id: job.id });
        return j.status === 'completed' ? j : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'poller to complete the job' },
    );
    expect(done.output).toEqual(expect.any(String));
    await h.expectReconciled();
  });
});
