import { jobs } from '@tollgate/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_READ_GRACE_SECONDS } from '../src/workers/unknown-resolver.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  startHarness,
  waitFor,
} from './harness.ts';

const BALANCE = 1_000_000;

describe('jobs: definitive upstream refusals release the hold', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const table: Array<[number, string, string, string]> = [
    [400, 'INVALID_INPUT', 'BAD_REQUEST', 'UPSTREAM_REJECTED'],
    [401, 'INVALID_API_KEY', 'SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    [402, 'INSUFFICIENT_BALANCE', 'SERVICE_UNAVAILABLE', 'UPSTREAM_ACCOUNT_EMPTY'],
    [404, 'MODEL_NOT_FOUND', 'BAD_REQUEST', 'UNKNOWN_MODEL'],
    [429, 'CONCURRENT_JOBS_EXCEEDED', 'TOO_MANY_REQUESTS', 'UPSTREAM_RATE_LIMITED'],
    [500, 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    [503, 'PUBSUB_PUBLISH_FAILED', 'SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    // The code's meaning beats the HTTP status: the operator's account, not an unknown model; the URL
    // the gateway sends (PUBLIC_BASE_URL), not the tenant's input; a 200 `{success:false}`.
    [404, 'USER_NOT_FOUND', 'SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    [400, 'INVALID_WEBHOOK_URL', 'SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'],
    [400, 'INVALID_MODEL_SLUG', 'BAD_REQUEST', 'UNKNOWN_MODEL'],
    [200, 'INVALID_INPUT', 'BAD_REQUEST', 'UPSTREAM_REJECTED'],
    [200, 'MODEL_VERSION_NOT_ACTIVE', 'BAD_REQUEST', 'UPSTREAM_REJECTED'],
    [200, 'INSUFFICIENT_BALANCE', 'SERVICE_UNAVAILABLE', 'UPSTREAM_ACCOUNT_EMPTY'],
    [200, 'CONCURRENT_JOBS_EXCEEDED', 'TOO_MANY_REQUESTS', 'UPSTREAM_RATE_LIMITED'],
  ];
  it.each(table)(
    'upstream %i %s → %s/%s, job rejected, not charged',
    async (status, upstreamCode, code, reason) => {
      const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
      h.sim.control.failNextSubmits({ code: upstreamCode, status, count: 1 });
      const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
      expect(e).toMatchObject({ code, reason });
      expect(e.details).toMatchObject({ upstreamCode });
      if (code === 'TOO_MANY_REQUESTS') expect(e.details?.retryAfterSeconds).toEqual(expect.any(Number));
      const jobId = String(e.details?.jobId);
      const job = await client.jobs.get.query({ id: jobId });
      expect(job.status).toBe('rejected');
      expect(job.error?.code).toBe(upstreamCode);
      expect(await client.account.get.query()).toMatchObject({
        availableMicroCents: BALANCE,
        heldMicroCents: 0,
      });
      await h.expectReconciled();
    },
  );

  it('upstream unreachable (not sent) → released, SERVICE_UNAVAILABLE', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const realClient = h.gateway.deps.pixelbyte;
    const { createPixelbyteClient } = await import('@tollgate/pixelbyte');
    // A port nothing listens on: connection refused before any byte is sent.
    const dead = createPixelbyteClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'pb_x', timeoutMs: 2_000 });
    h.gateway.deps.pixelbyte = dead;
    try {
      const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
      expect(e).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_UNAVAILABLE' });
    } finally {
      h.gateway.deps.pixelbyte = realClient;
      await dead.close();
    }
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });
});

describe('jobs: a definitive refusal frees the idempotency key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a keyed submit refused by an upstream 503, retried with the same key → accepted, charged once', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: BALANCE });
    const request = { model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'retry-after-503' };
    h.sim.control.failNextSubmits({ code: 'PUBSUB_PUBLISH_FAILED', status: 503, count: 1 });
    const e = await expectTRPCError(client.jobs.submit.mutate(request));
    expect(e).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_UNAVAILABLE' });
    const rejectedId = String(e.details?.jobId);

    const job = await client.jobs.submit.mutate(request);
    expect(job.status).toBe('pending');
    expect(job.id).not.toBe(rejectedId);
    expect(job.costMicroCents).toBe(CHEAP_PRICE);
    // A further retry replays the accepted job: no third attempt, no second charge.
    expect(await client.jobs.submit.mutate(request)).toMatchObject({ id: job.id, status: 'pending' });

    const rows = await h.db.db
      .select({
        id: jobs.id,
        status: jobs.status,
        key: jobs.idempotencyKey,
        releasedKey: jobs.releasedIdempotencyKey,
      })
      .from(jobs)
      .where(eq(jobs.tenantId, tenantId));
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: rejectedId, status: 'rejected', key: null, releasedKey: 'retry-after-503' },
        { id: job.id, status: 'pending', key: 'retry-after-503', releasedKey: null },
      ]),
    );
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });
});

describe('jobs: unknown outcomes and later failures', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ submitTimeoutMs: 400, unknownJobGraceMs: 1_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('hang/timeout → job unknown with the hold kept; past the grace the hold is released and flagged', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    h.sim.control.hangNextSubmits(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: CHEAP_PRICE,
    });
    const expired = await waitFor(
      async () => {
        await h.gateway.unknownResolver.runOnce();
        const j = await client.jobs.get.query({ id: job.id });
        return j.status === 'rejected' ? j : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'unknown job to expire' },
    );
    expect(expired.error?.code).toBe('UNKNOWN_OUTCOME_EXPIRED');
    const [row] = await h.db.db
      .select({ needsReview: jobs.needsReview })
      .from(jobs)
      .where(eq(jobs.id, job.id));
    expect(row?.needsReview).toBe(true);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('answer lost after creation → unknown; the webhook (before any stored submit response) resolves and charges it', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    h.sim.control.loseAnswerNextSubmits(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    expect(job.upstreamJobId).toBeNull();
    const simJob = h.sim.control.jobs().find((j) => j.webhookUrl?.includes(job.id));
    expect(simJob, 'the simulator created the job').toBeDefined();
    await h.sim.control.advance(simJob?.jobId ?? '', 'completed');
    const done = await waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'completed' ? j : null;
    });
    expect(done.upstreamJobId).toBe(simJob?.jobId);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('a job upstream never finishes (status reads 404) is failed past its deadline and refunded once', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('pending');
    h.sim.control.failNextStatusReads({ status: 404, code: 'JOB_NOT_FOUND', count: 100 });
    try {
      // Test arrangement: a deadline that has passed longer ago than the unread grace (the simulator
      // never advances the job, and every read fails).
      await h.db
        .sql`UPDATE jobs SET deadline_at = now() - make_interval(secs => ${DEADLINE_READ_GRACE_SECONDS + 1}), next_poll_at = now() WHERE id = ${job.id}`;
      const failed = await waitFor(
        async () => {
          await h.gateway.unknownResolver.runOnce();
          const j = await client.jobs.get.query({ id: job.id });
          return j.status === 'failed' ? j : null;
        },
        { what: 'overdue job to be failed' },
      );
      expect(failed.error?.code).toBe('DEADLINE_EXCEEDED');
      expect(failed.refundedMicroCents).toBe(CHEAP_PRICE);
    } finally {
      h.sim.control.reset();
    }
    const [row] = await h.db.db
      .select({ needsReview: jobs.needsReview })
      .from(jobs)
      .where(eq(jobs.id, job.id));
    expect(row?.needsReview).toBe(true);
    // Later triggers change nothing: refunded exactly once, the slot is free.
    await h.gateway.unknownResolver.runOnce();
    await h.gateway.poller.runOnce();
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    const [bal] = await h.db.sql<{ active: number }[]>`
      SELECT active_jobs AS active FROM tenant_balances WHERE tenant_id = ${tenantId}`;
    expect(bal?.active).toBe(0);
    await h.expectReconciled();
  });

  it('at the deadline, a failed read does not end a job that may have completed: it is read again on a later pass', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // Test arrangement: the deadline has just passed; the sweep's read gets a 429.
    await h.db
      .sql`UPDATE jobs SET deadline_at = now() - interval '1 second', next_poll_at = now() WHERE id = ${job.id}`;
    h.sim.control.failNextStatusReads({ status: 429, code: 'RATE_LIMIT_EXCEEDED' });
    await h.gateway.unknownResolver.runOnce();
    expect((await client.jobs.get.query({ id: job.id })).status, 'not ended unread').toBe('pending');
    // Meanwhile Pixelbyte finished it (no webhook: the sweep's read is what must see it); the next
    // pass reads it (test arrangement: due again now).
    h.sim.control.webhookMode('none');
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    h.sim.control.webhookMode('normal');
    await h.db.sql`UPDATE jobs SET next_poll_at = now() WHERE id = ${job.id}`;
    await h.gateway.unknownResolver.runOnce();
    const done = await client.jobs.get.query({ id: job.id });
    expect(done).toMatchObject({ status: 'completed', refundedMicroCents: 0, output: expect.any(String) });
    await h.expectReconciled();
  });

  it('a webhook for a job we already rejected (expired unknown) stores the upstream id and flags it, tenant not charged', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    h.sim.control.loseAnswerNextSubmits(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    const simJob = h.sim.control.jobs().find((j) => j.webhookUrl?.includes(job.id));
    expect(simJob, 'the simulator created the job').toBeDefined();
    await waitFor(
      async () => {
        await h.gateway.unknownResolver.runOnce();
        return (await client.jobs.get.query({ id: job.id })).status === 'rejected';
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'unknown job to expire' },
    );
    await h.sim.control.advance(simJob?.jobId ?? '', 'completed');
    const delivery = h.sim.control.webhookDeliveries().find((d) => d.url.includes(job.id));
    expect(delivery?.status).toBe(200);
    const [row] = await h.db.db
      .select({ status: jobs.status, needsReview: jobs.needsReview, upstreamJobId: jobs.upstreamJobId })
      .from(jobs)
      .where(eq(jobs.id, job.id));
    expect(row).toEqual({ status: 'rejected', needsReview: true, upstreamJobId: simJob?.jobId });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('job later failed upstream → failed, refunded once', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    h.sim.control.setOutcome('failed', { jobId: job.upstreamJobId ?? '' });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'failed');
    const failed = await waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'failed' ? j : null;
    });
    expect(failed.refundedMicroCents).toBe(CHEAP_PRICE);
    expect(failed.error).not.toBeNull();
    // A late duplicate trigger changes nothing.
    await h.gateway.poller.runOnce();
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it.each(['duplicate', 'out_of_order'] as const)(
    '%s webhooks → one transition, one charge',
    async (mode) => {
      const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
      h.sim.control.webhookMode(mode);
      try {
        const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
        await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
        await waitFor(async () => (await client.jobs.get.query({ id: job.id })).status === 'completed');
        await waitFor(
          async () => h.sim.control.webhookDeliveries().filter((d) => d.url.includes(job.id)).length >= 2,
          {
            what: `${mode} deliveries`,
          },
        );
        const kinds = await h.db.sql<{ kind: string }[]>`
        SELECT kind::text FROM ledger_transactions WHERE job_id = ${job.id} ORDER BY created_at, id`;
        expect(kinds.map((k) => k.kind)).toEqual(['hold', 'capture']);
        expect(await client.account.get.query()).toMatchObject({
          availableMicroCents: BALANCE - CHEAP_PRICE,
          heldMicroCents: 0,
        });
      } finally {
        h.sim.control.webhookMode('normal');
      }
      await h.expectReconciled();
    },
  );

  it('5xx on status reads: the webhook answers 503 so Pixelbyte retries, and the job still completes', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: BALANCE });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    h.sim.control.failNextStatusReads({ status: 500, code: 'INTERNAL_ERROR', count: 1 });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    await waitFor(async () => (await client.jobs.get.query({ id: job.id })).status === 'completed', {
      what: 'retried webhook to complete the job',
    });
    const deliveries = h.sim.control.webhookDeliveries().filter((d) => d.url.includes(job.id));
    expect(deliveries[0]?.status).toBe(503);
    await h.expectReconciled();
  });
});
