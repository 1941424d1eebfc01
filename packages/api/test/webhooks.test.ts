import { jobs } from '@tollgate/db';
import { signWebhook } from '@tollgate/pixelbyte';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookToken } from '../src/webhook-token.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Harness,
  SIM_WEBHOOK_SECRET,
  startHarness,
} from './harness.ts';

describe('POST /webhooks/pixelbyte/:jobId', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sim: { webhooks: { enabled: false } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const deliver = (
    jobId: string,
    body: string,
    opts: { token?: string; secret?: string; timestamp?: number } = {},
  ) => {
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const token = opts.token ?? webhookToken(h.gateway.deps.config.webhookTokenSecret, jobId);
    return fetch(`${h.url}/webhooks/pixelbyte/${jobId}?token=${token}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-pixelbyte-timestamp': String(timestamp),
        'x-pixelbyte-signature': signWebhook({
          secret: opts.secret ?? SIM_WEBHOOK_SECRET,
          timestamp,
          rawBody: body,
        }),
      },
      body,
    });
  };

  it('refuses a bad signature or a stale timestamp when a secret is configured', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 100_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const body = JSON.stringify({ jobId: job.upstreamJobId, status: 'completed' });
    const bad = await deliver(job.id, body, { secret: 'wrong' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ reason: 'INVALID_WEBHOOK_SIGNATURE' });
    const stale = await deliver(job.id, body, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(401);
    // Another job's (valid) token does not open this job.
    const other = await deliver(job.id, body, {
      token: webhookToken(h.gateway.deps.config.webhookTokenSecret, 'job_other'),
    });
    expect(other.status).toBe(401);
    expect((await client.jobs.get.query({ id: job.id })).status).toBe('pending');
  });

  it('the body is only a trigger: a lying body does not change the job; the upstream truth does', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 100_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const lie = await deliver(job.id, JSON.stringify({ jobId: job.upstreamJobId, status: 'failed' }));
    expect(lie.status).toBe(200);
    expect(await lie.json()).toMatchObject({ ok: true, status: 'pending' });
    expect((await client.jobs.get.query({ id: job.id })).refundedMicroCents).toBe(0);

    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    for (let i = 0; i < 3; i++) {
      const res = await deliver(job.id, JSON.stringify({ jobId: job.upstreamJobId, status: 'completed' }));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, status: 'completed' });
    }
    expect((await client.account.get.query()).availableMicroCents).toBe(100_000 - CHEAP_PRICE);
    await h.expectReconciled();
  });

  it('authentic webhook for an unknown job with no upstream id and an unreadable body → 503 (Pixelbyte retries) and flagged for review', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 100_000 });
    h.sim.control.loseAnswerNextSubmits(1);
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job).toMatchObject({ status: 'unknown', upstreamJobId: null });
    const simJob = h.sim.control.jobs().find((j) => j.webhookUrl?.includes(job.id));
    expect(simJob, 'the simulator created the job').toBeDefined();
    const row = async () =>
      (
        await h.db.db
          .select({
            status: jobs.status,
            needsReview: jobs.needsReview,
            upstreamJobId: jobs.upstreamJobId,
            updatedAt: jobs.updatedAt,
          })
          .from(jobs)
          .where(eq(jobs.id, job.id))
      )[0];
    const before = await row();

    for (const body of ['', 'not json', JSON.stringify({ status: 'completed' })]) {
      const res = await deliver(job.id, body);
      expect(res.status, `body ${JSON.stringify(body)}`).toBe(503);
      expect(await res.json()).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        reason: 'UPSTREAM_JOB_ID_UNKNOWN',
      });
    }
    // The token proves Pixelbyte holds a job for this URL (the operator pays for it): flagged for
    // finance, hold kept, not charged yet; the unknown grace is not restarted by the flag.
    expect(await row()).toEqual({ ...before, needsReview: true });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 100_000 - CHEAP_PRICE,
      heldMicroCents: CHEAP_PRICE,
    });

    // A delivery that names the job resolves it as usual: captured once.
    const named = await deliver(job.id, JSON.stringify({ jobId: simJob?.jobId, status: 'pending' }));
    expect(named.status).toBe(200);
    expect(await named.json()).toMatchObject({ ok: true, status: 'pending' });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 100_000 - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('unknown job with a valid token → 404', async () => {
    const res = await deliver('job_nosuchjob', '{}');
    expect(res.status).toBe(404);
  });
});
