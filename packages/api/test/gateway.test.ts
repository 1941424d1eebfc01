import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, type Harness, startHarness } from './harness.ts';

describe('graceful shutdown', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('finishes the in-flight submit, then refuses new connections', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    h.sim.control.setLatencyMs(500);
    const inFlight = client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // Wait until the submit reached the simulator (the money is held), then shut down.
    const deadline = Date.now() + 5_000;
    while (h.sim.control.counts().submitsReceived === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const closing = h.gateway.close({ timeoutMs: 5_000 });
    const job = await inFlight;
    expect(job.status, 'the in-flight request completed normally').toBe('pending');
    await closing;
    await expect(fetch(`${h.url}/healthz`)).rejects.toThrow();
    h.sim.control.setLatencyMs(0);
    await h.expectReconciled();
  });
});

describe('logs', () => {
  const lines: string[] = [];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ onLogLine: (line) => lines.push(line) });
  });
  afterAll(async () => {
    await h.close();
  });

  it('are JSON with request id and tenant id, and never contain tokens or secrets', async () => {
    const { client, token } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    await client.jobs.get.query({ id: job.id });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const submitLine = records.find((r) => r.msg === 'request' && r.path === '/trpc/jobs.submit');
    expect(submitLine).toMatchObject({
      requestId: expect.stringMatching(/^req_/),
      tenantId: expect.stringMatching(/^ten_/),
    });
    // Lines the procedure logs carry the same ids (bound once, in the request context).
    const acceptedLine = records.find((r) => r.msg === 'job accepted upstream');
    expect(acceptedLine).toMatchObject({
      requestId: submitLine?.requestId,
      tenantId: submitLine?.tenantId,
      jobId: job.id,
    });
    const all = lines.join('\n');
    expect(all).not.toContain(token);
    expect(all, 'no JWT of any kind').not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(all, 'webhook URL tokens stay out of logs').not.toContain('token=');
    expect(all).not.toContain(h.gateway.deps.config.webhookTokenSecret);
    expect(all).not.toContain(h.sim.apiKey);
  });
});

describe('connections', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('keeps idle connections 65 s (longer than the 60 s of load balancers), and says so', async () => {
    const res = await fetch(`${h.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  });
});
