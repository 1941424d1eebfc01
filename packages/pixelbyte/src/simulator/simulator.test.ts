import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPixelbyteClient, type PbResult, verifyWebhookSignature } from '../index.ts';
import { startScriptedServer, waitFor } from '../test-utils.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from './index.ts';

const WAN = 'alibaba-plus/wan-2.6-flash/image-to-video';
const WAN_INPUT = { prompt: 'a fox', image_url: 'https://example.com/fox.png' };

function ok<T>(result: PbResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

/** Starts a simulator + client for one test; everything is closed in afterEach. */
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function setup(opts: SimulatorOptions = {}) {
  const sim = await startSimulator(opts);
  const client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
  opened.push(client, sim);
  return { sim, client };
}

async function receiver() {
  const server = await startScriptedServer();
  opened.push(server);
  return server;
}

describe('lifecycle', () => {
  it('auto-advances pending → processing → completed with the configured durations', async () => {
    const { sim, client } = await setup({ pendingMs: 30, processingMs: 30 });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    const seen = new Set<string>();
    await waitFor('the job to complete', async () => {
      const job = ok(await client.getJob(jobId));
      seen.add(job.status);
      return job.status === 'completed';
    });
    expect(seen.has('pending') || seen.has('processing')).toBe(true);
    expect(sim.control.counts().byStatus).toMatchObject({ completed: 1, pending: 0, processing: 0 });
  });

  it('ends jobs in the configured outcome; setOutcome per model beats the default, per job beats both', async () => {
    const { sim, client } = await setup({ outcome: 'failed', autoAdvance: false });
    const image = 'google/nano-banana';
    sim.control.setOutcome('completed', { model: image });
    const a = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    const b = ok(await client.submitJob({ model: image, input: { prompt: 'x' } }));
    const c = ok(await client.submitJob({ model: image, input: { prompt: 'x' } }));
    sim.control.setOutcome('failed', { jobId: c.jobId });
    for (const { jobId } of [a, b, c]) {
      await sim.control.advance(jobId);
      await sim.control.advance(jobId);
    }
    expect([a, b, c].map(({ jobId }) => sim.control.job(jobId)?.status)).toEqual([
      'failed',
      'completed',
      'failed',
    ]);
  });

  it('advance refuses unknown jobs and moves out of a terminal state', async () => {
    const { sim, client } = await setup({ autoAdvance: false });
    await expect(sim.control.advance('job_nope')).rejects.toThrow(/no job/);
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    await sim.control.advance(jobId, 'completed');
    await expect(sim.control.advance(jobId, 'failed')).rejects.toThrow(/already completed/);
    expect(sim.control.job(jobId)?.status).toBe('completed');
  });

  it('autoAdvance: false keeps jobs pending', async () => {
    const { sim, client } = await setup({ autoAdvance: false, pendingMs: 1, processingMs: 1 });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    // Other traffic goes through while the job stays put.
    for (let i = 0; i < 5; i += 1) ok(await client.listJobs());
    expect(sim.control.job(jobId)?.status).toBe('pending');
  });

  it('setLatencyMs delays answers', async () => {
    const { sim, client } = await setup();
    sim.control.setLatencyMs(150);
    const started = performance.now();
    ok(await client.listJobs());
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('webhooks', () => {
  it('posts the documented, signed body once the job is terminal (http allowed when configured)', async () => {
    const hooks = await receiver();
    const { sim, client } = await setup({
      autoAdvance: false,
      webhooks: { allowHttp: true, secret: 'whsec_abc' },
    });
    const { jobId } = ok(
      await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: `${hooks.url}/hooks/pb?token=t1` }),
    );
    await sim.control.advance(jobId);
    expect(hooks.received).toHaveLength(0);
    await sim.control.advance(jobId);
    expect(hooks.received).toHaveLength(1);
    const [hook] = hooks.received;
    expect(hook?.url).toBe('/hooks/pb?token=t1');
    const body = JSON.parse(hook?.body ?? '');
    const job = sim.control.job(jobId);
    expect(body).toEqual({
      jobId,
      requestId: job?.requestId,
      status: 'completed',
      output: { imageUrl: job?.output, metadata: expect.any(Object) },
      completedAt: job?.completedAt,
    });
    expect(
      verifyWebhookSignature({
        secret: 'whsec_abc',
        rawBody: hook?.body ?? '',
        timestampHeader: hook?.headers['x-pixelbyte-timestamp'] as string,
        signatureHeader: hook?.headers['x-pixelbyte-signature'] as string,
      }),
    ).toEqual({ ok: true });
    expect(sim.control.webhookDeliveries()).toEqual([
      expect.objectContaining({ jobId, attempt: 1, status: 200, body: hook?.body }),
    ]);
  });

  it('a failed job sends error instead of output; cancelled jobs send nothing', async () => {
    const hooks = await receiver();
    const { sim, client } = await setup({ autoAdvance: false, webhooks: { allowHttp: true } });
    const a = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    const b = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    await sim.control.advance(a.jobId, 'failed');
    ok(await client.cancelJob(b.jobId));
    expect(hooks.received).toHaveLength(1);
    const body = JSON.parse(hooks.received[0]?.body ?? '');
    expect(body).toMatchObject({ jobId: a.jobId, status: 'failed', error: { code: expect.any(String) } });
    expect(body.output).toBeUndefined();
  });

  it('retries non-2xx answers on the (scaled) schedule, then stops', async () => {
    const hooks = await receiver();
    hooks.answer({ status: 500 }, { status: 503 }, { status: 204 });
    const { sim, client } = await setup({
      autoAdvance: false,
      webhooks: { allowHttp: true, retryDelaysMs: [10, 20, 40] },
    });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    await sim.control.advance(jobId, 'completed');
    const deliveries = await waitFor('three attempts', () => {
      const d = sim.control.webhookDeliveries();
      return d.length === 3 && d;
    });
    expect(deliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 503],
      [3, 204],
    ]);
    expect(new Set(deliveries.map((d) => d.body)).size).toBe(1);
  });

  it('gives up after the last retry', async () => {
    const hooks = await receiver();
    hooks.answer({ status: 500 }, { status: 500 }, { status: 500 });
    const { sim, client } = await setup({
      autoAdvance: false,
      webhooks: { allowHttp: true, retryDelaysMs: [5, 5] },
    });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    await sim.control.advance(jobId, 'completed');
    await waitFor('three attempts', () => sim.control.webhookDeliveries().length === 3);
    // One more job proves the sender is idle for the first one: its delivery is the only new one.
    const other = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    await sim.control.advance(other.jobId, 'completed');
    expect(sim.control.webhookDeliveries().map((d) => [d.jobId, d.attempt])).toEqual([
      [jobId, 1],
      [jobId, 2],
      [jobId, 3],
      [other.jobId, 1],
    ]);
  });

  it('records an unreachable receiver as attempts without status', async () => {
    const { sim, client } = await setup({ autoAdvance: false, webhooks: { retryDelaysMs: [] } });
    const { jobId } = ok(
      await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: 'https://127.0.0.1:1/hook' }),
    );
    await sim.control.advance(jobId, 'completed');
    const [delivery] = sim.control.webhookDeliveries();
    expect(delivery).toMatchObject({ jobId, attempt: 1, error: expect.any(String) });
    expect(delivery?.status).toBeUndefined();
  });

  it('modes: duplicate, out_of_order, none, delayed', async () => {
    const hooks = await receiver();
    const { sim, client } = await setup({ autoAdvance: false, webhooks: { allowHttp: true } });
    const submit = async () =>
      ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url })).jobId;
    const bodies = () => hooks.received.map((r) => JSON.parse(r.body) as { jobId: string; status: string });

    sim.control.webhookMode('duplicate');
    const dup = await submit();
    await sim.control.advance(dup, 'completed');
    expect(bodies()).toEqual([
      expect.objectContaining({ jobId: dup }),
      expect.objectContaining({ jobId: dup }),
    ]);
    expect(hooks.received[0]?.body).toBe(hooks.received[1]?.body);

    hooks.received.length = 0;
    sim.control.webhookMode('out_of_order');
    const ooo = await submit();
    await sim.control.advance(ooo, 'completed');
    expect(bodies().map((b) => b.status)).toEqual(['completed', 'processing']);

    hooks.received.length = 0;
    sim.control.webhookMode('none');
    const none = await submit();
    await sim.control.advance(none, 'completed');
    expect(hooks.received).toHaveLength(0);

    sim.control.webhookMode('delayed', { delayMs: 50 });
    const late = await submit();
    await sim.control.advance(late, 'completed');
    expect(hooks.received).toHaveLength(0);
    await waitFor('the delayed webhook', () => hooks.received.length === 1);
    expect(bodies()[0]?.jobId).toBe(late);
  });

  it('disabled webhooks are never sent', async () => {
    const hooks = await receiver();
    const { sim, client } = await setup({
      autoAdvance: false,
      webhooks: { enabled: false, allowHttp: true },
    });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT, webhookUrl: hooks.url }));
    await sim.control.advance(jobId, 'completed');
    expect(hooks.received).toHaveLength(0);
  });
});

describe('introspection and reset', () => {
  it('records every request with its exact body and headers', async () => {
    const { sim, client } = await setup();
    ok(await client.submitJob({ model: WAN, input: { ...WAN_INPUT, duration: '5' } }));
    ok(await client.listJobs({ limit: 5, status: 'pending' }));
    const [submit, list] = sim.control.requests();
    expect(submit).toMatchObject({ method: 'POST', path: '/v1/jobs/submit' });
    expect(submit?.body).toBe(JSON.stringify({ model: WAN, input: { ...WAN_INPUT, duration: '5' } }));
    expect(submit?.headers.authorization).toBe(`Bearer ${sim.apiKey}`);
    expect(list).toMatchObject({ method: 'GET', path: '/v1/jobs?limit=5&status=pending', body: '' });
  });

  it('reset forgets jobs, requests and faults and restores the balance', async () => {
    const { sim, client } = await setup({ balanceMicroCents: 10_000_000n });
    ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    sim.control.failNextSubmits({ code: 'INTERNAL_ERROR', count: 5 });
    sim.control.setBalance(1n);
    sim.control.reset();
    expect(sim.control.balance()).toBe(10_000_000n);
    expect(sim.control.jobs()).toEqual([]);
    expect(sim.control.requests()).toEqual([]);
    expect(sim.control.counts()).toMatchObject({ submitsReceived: 0, jobsCreated: 0 });
    ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
  });

  it('hands out copies: mutating them does not change the simulator', async () => {
    const { sim, client } = await setup({ autoAdvance: false });
    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    const copy = sim.control.jobs()[0];
    if (copy) copy.status = 'completed';
    expect(sim.control.job(jobId)?.status).toBe('pending');
  });

  it('close() ends a hanging submit and is idempotent', async () => {
    const sim = await startSimulator();
    const client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
    sim.control.hangNextSubmits();
    const pending = client.submitJob({ model: WAN, input: WAN_INPUT });
    await waitFor('the submit to arrive', () => sim.control.counts().submitsReceived === 1);
    await Promise.all([sim.close(), sim.close()]);
    const result = await pending;
    expect(result.ok ? 'ok' : result.error.outcome).toBe('unknown');
    await client.close();
  });
});

describe('HTTP control API', () => {
  let sim: Simulator;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/__sim${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    sim = await startSimulator({ autoAdvance: false, balanceMicroCents: 5_000_000n });
  });
  afterAll(() => sim.close());

  it('steers a simulator from another process', async () => {
    const client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
    opened.push(client);
    expect(await call('POST', '/fail-next-submits', { code: 'INSUFFICIENT_BALANCE' })).toEqual({
      status: 200,
      body: { ok: true },
    });
    const rejected = await client.submitJob({ model: WAN, input: WAN_INPUT });
    expect(rejected.ok ? 'ok' : [rejected.error.status, rejected.error.code]).toEqual([
      402,
      'INSUFFICIENT_BALANCE',
    ]);

    const { jobId } = ok(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    expect((await call('GET', '/balance')).body).toEqual({ balanceMicroCents: '2500000' });
    const advanced = await call('POST', `/jobs/${jobId}/advance`, { to: 'completed' });
    expect(advanced.body).toMatchObject({ jobId, status: 'completed', costMicroCents: '2500000' });
    expect((await call('GET', '/jobs')).body.jobs).toEqual([
      expect.objectContaining({ jobId, status: 'completed' }),
    ]);
    expect((await call('GET', `/jobs/${jobId}`)).body).toMatchObject({ jobId });
    expect((await call('GET', '/requests')).body.requests).toHaveLength(2);
    expect((await call('GET', '/state')).body).toMatchObject({
      balanceMicroCents: '2500000',
      counts: { submitsReceived: 2, jobsCreated: 1 },
    });

    await call('POST', '/lose-answer-next-submits', { count: 1 });
    const lost = await client.submitJob({ model: WAN, input: WAN_INPUT });
    expect(lost.ok ? 'ok' : lost.error.outcome).toBe('unknown');

    await call('POST', '/balance', { balanceMicroCents: '1' });
    expect(sim.control.balance()).toBe(1n);
    await call('POST', '/fail-next-status-reads', { status: 500, code: 'INTERNAL_ERROR' });
    const read = await client.getJob(jobId);
    expect(read.ok ? 'ok' : read.error.code).toBe('INTERNAL_ERROR');
    await call('POST', '/misanswer-next-cancels', { status: 'processing' });
    const misanswered = await client.cancelJob(jobId);
    expect(misanswered.ok ? misanswered.value.status : misanswered.error.code).toBe('processing');
    expect((await call('GET', `/jobs/${jobId}`)).body, 'nothing cancelled').toMatchObject({
      status: 'completed',
    });
    await call('POST', '/outcome', { outcome: 'failed' });
    await call('POST', '/webhook-mode', { mode: 'none' });
    await call('POST', '/latency', { ms: 0 });
    await call('POST', '/hang-next-submits', {});
    expect((await call('GET', '/webhook-deliveries')).body).toEqual({ deliveries: [] });

    expect((await call('POST', '/reset')).body).toMatchObject({ balanceMicroCents: '5000000' });
  });

  it('refuses bad control input with 400 and unknown jobs with 404', async () => {
    expect((await call('POST', '/fail-next-submits', { count: 2 })).status).toBe(400);
    expect((await call('POST', '/webhook-mode', { mode: 'sometimes' })).status).toBe(400);
    expect((await call('POST', '/balance', { balanceMicroCents: 1.5 })).status).toBe(400);
    expect((await call('POST', '/jobs/job_nope/advance')).status).toBe(404);
    expect((await call('GET', '/jobs/job_nope')).status).toBe(404);
    const notJson = await fetch(`${sim.url}/__sim/latency`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
  });
});

describe('test mode magic inputs', () => {
  const IMAGE = 'google/nano-banana';
  it('[tollgate:fail] fails after processing, [tollgate:reject] is refused at submit, [tollgate:unknown] loses the answer, [tollgate:slow] processes 60 s', async () => {
    const { sim, client } = await setup({ magicInputs: true, pendingMs: 10, processingMs: 10 });
    const failing = ok(await client.submitJob({ model: IMAGE, input: { prompt: 'a fox [tollgate:fail]' } }));
    await waitFor(
      'the [tollgate:fail] job to end',
      async () => sim.control.job(failing.jobId)?.status === 'failed',
    );

    const rejected = await client.submitJob({ model: IMAGE, input: { prompt: '[tollgate:reject] a fox' } });
    expect(rejected.ok).toBe(false);
    if (!rejected.ok)
      expect(rejected.error).toMatchObject({ outcome: 'rejected', status: 400, code: 'INVALID_INPUT' });

    const lost = await client.submitJob({ model: IMAGE, input: { prompt: 'a fox [tollgate:unknown]' } });
    expect(lost.ok).toBe(false);
    if (!lost.ok) expect(lost.error.outcome).toBe('unknown');
    expect(sim.control.jobs().filter((j) => j.answerLost)).toHaveLength(1);

    const slow = ok(await client.submitJob({ model: IMAGE, input: { prompt: 'a fox [tollgate:slow]' } }));
    const eta = Date.parse(slow.estimatedCompletionTime ?? '') - Date.now();
    expect(eta, 'the estimate says a minute').toBeGreaterThan(55_000);
    await waitFor(
      'the slow job to be processing',
      async () => sim.control.job(slow.jobId)?.status === 'processing',
    );

    const plain = ok(await client.submitJob({ model: IMAGE, input: { prompt: 'a fox' } }));
    await waitFor(
      'a plain job to complete',
      async () => sim.control.job(plain.jobId)?.status === 'completed',
    );
  });

  it('a simulator without magicInputs treats the markers as plain text', async () => {
    const { sim, client } = await setup({ pendingMs: 10, processingMs: 10 });
    const job = ok(
      await client.submitJob({ model: IMAGE, input: { prompt: '[tollgate:fail] [tollgate:reject]' } }),
    );
    await waitFor('the job to complete', async () => sim.control.job(job.jobId)?.status === 'completed');
  });
});
