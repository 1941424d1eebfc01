// A client in another language: examples/rest_client.py (Python, standard library only) drives the
// whole flow over REST against a real gateway + simulator: quote, submit with Idempotency-Key, replay,
// poll to the end, 402 and 404 handling.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_PRICE, type Harness, startHarness } from './harness.ts';

const SCRIPT = fileURLToPath(new URL('../examples/rest_client.py', import.meta.url));

describe('REST from Python (standard library only)', () => {
  let h: Harness;

  beforeAll(async () => {
    // Jobs advance on their own upstream and the gateway learns of it by webhook, as in production.
    h = await startHarness({ sim: { autoAdvance: true, pendingMs: 50, processingMs: 100 } });
  });
  afterAll(async () => {
    await h.expectReconciled();
    await h.close();
  });

  it('quote, submit + replay with Idempotency-Key, poll to completion, 404 and 402 as problems', async () => {
    const rich = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const poor = await h.createTenant({ balanceMicroCents: 1_000 });
    const { stdout, stderr } = await promisify(execFile)('python3', [SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '',
        TOLLGATE_URL: h.url,
        TOLLGATE_TOKEN: rich.token,
        TOLLGATE_POOR_TOKEN: poor.token,
      },
      timeout: 60_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`rest_client.py failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`);
    });
    expect(stderr).toBe('');
    const seen = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(seen).toMatchObject({
      quoteMicroCents: CHEAP_PRICE,
      submitStatus: 201,
      replayStatus: 200,
      finalStatus: 'completed',
      chargedMicroCents: CHEAP_PRICE,
      notFound: { status: 404, reason: 'JOB_NOT_FOUND' },
      paymentRequired: {
        status: 402,
        reason: 'INSUFFICIENT_BALANCE',
        requiredMicroCents: CHEAP_PRICE,
        availableMicroCents: 1_000,
      },
    });
    // What the script saw is what the books say: one job for the key, charged once.
    const { items } = await rich.client.jobs.list.query({});
    expect(items.map((j) => j.id)).toEqual([seen.jobId]);
  });
});
