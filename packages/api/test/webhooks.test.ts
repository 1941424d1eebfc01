import { signWebhook } from '@tollgate/pixelbyte';
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

  it('unknown job with a valid token → 404', async () => {
    const res = await deliver('job_nosuchjob', '{}');
    expect(res.status).toBe(404);
  });
});
