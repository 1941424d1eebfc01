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
