/**
 * Webhook delivery as Pixelbyte documents it: POST to the job's webhookUrl once the job is terminal,
 * signed with `X-PixelByte-Timestamp` / `X-PixelByte-Signature`, retried after non-2xx answers on a
 * schedule (1, 4, 16, 64, 256 s by default; scalable for tests). Fault modes make the receiver face
 * what the docs warn about: duplicates, late arrival, out-of-order arrival, or no webhook at all.
 */
import { signWebhook } from '../webhook.ts';
import type { SimJob, WebhookDelivery, WebhookMode } from './types.ts';

export interface WebhookSender {
  /** Starts delivery for a job that just became terminal; resolves after the first attempt(s). */
  jobFinished(job: SimJob): Promise<void>;
  setMode(mode: WebhookMode, delayMs?: number): void;
  deliveries(): WebhookDelivery[];
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_DELAY_MS = 2_000;
/** Most recent attempts kept by `control.webhookDeliveries()` (bounded for long benchmark runs). */
const MAX_DELIVERIES = 10_000;

export function createWebhookSender(opts: {
  secret: string;
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  log: (line: string) => void;
}): WebhookSender {
  let mode: WebhookMode = 'normal';
  let delayMs = DEFAULT_DELAY_MS;
  let deliveries: WebhookDelivery[] = [];
  let aborter = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function track(p: Promise<void>): Promise<void> {
    inFlight.add(p);
    return p.finally(() => inFlight.delete(p));
  }

  function bodyFor(job: SimJob, status: string): string {
    // The documented webhook shape: `output` is an object here, unlike the status endpoint.
    const payload =
      status === 'completed'
        ? {
            jobId: job.jobId,
            requestId: job.requestId,
            status,
            output: { imageUrl: job.output, metadata: { model: job.model, outputs: job.outputs } },
            completedAt: job.completedAt,
          }
        : status === 'failed'
          ? {
              jobId: job.jobId,
              requestId: job.requestId,
              status,
              error: job.error,
              completedAt: job.completedAt,
            }
          : { jobId: job.jobId, requestId: job.requestId, status, completedAt: null };
    return JSON.stringify(payload);
  }

  /** One attempt; on a non-2xx answer or no answer, schedules the next one while the schedule lasts. */
  async function attempt(job: SimJob, url: string, body: string, n: number): Promise<void> {
    const signal = aborter.signal;
    if (signal.aborted) return;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Pixelbyte-Webhooks/1.0 (simulator)',
      'x-pixelbyte-timestamp': String(timestamp),
      'x-pixelbyte-signature': signWebhook({ secret: opts.secret, timestamp, rawBody: body }),
    };
    const delivery: WebhookDelivery = { jobId: job.jobId, url, attempt: n, body, headers, at: Date.now() };
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
      });
      delivery.status = res.status;
      await res.body?.cancel();
    } catch (err) {
      delivery.error =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    if (signal.aborted) return;
    deliveries.push(delivery);
    if (deliveries.length > MAX_DELIVERIES) deliveries.splice(0, deliveries.length - MAX_DELIVERIES);
    const delivered = delivery.status !== undefined && delivery.status >= 200 && delivery.status < 300;
    opts.log(
      `webhook ${job.jobId} attempt ${n} → ${delivery.status ?? delivery.error}${delivered ? '' : ' (will retry if scheduled)'}`,
    );
    if (delivered) return;
    const retryDelay = opts.retryDelaysMs[n - 1];
    if (retryDelay === undefined) {
      opts.log(`webhook ${job.jobId} delivery failed after ${n} attempts`);
      return;
    }
    later(retryDelay, () => void track(attempt(job, url, body, n + 1)));
  }

  async function jobFinished(job: SimJob): Promise<void> {
    const url = job.webhookUrl;
    if (url === null) return;
    // Bodies are built now: a later retry re-sends exactly what this transition produced.
    const snapshot = structuredClone(job);
    const body = bodyFor(snapshot, snapshot.status);
    switch (mode) {
      case 'none':
        opts.log(`webhook ${job.jobId} suppressed (mode none)`);
        return;
      case 'normal':
        return track(attempt(snapshot, url, body, 1));
      case 'duplicate':
        await track(attempt(snapshot, url, body, 1));
        return track(attempt(snapshot, url, body, 1));
      case 'delayed':
        later(delayMs, () => void track(attempt(snapshot, url, body, 1)));
        return;
      case 'out_of_order':
        // The terminal notification first, then a stale "processing" one, as if an older
        // notification had been held up in transit.
        await track(attempt(snapshot, url, body, 1));
        return track(attempt(snapshot, url, bodyFor(snapshot, 'processing'), 1));
      default: {
        const never: never = mode;
        return never;
      }
    }
  }

  return {
    jobFinished,
    setMode(next, nextDelayMs) {
      mode = next;
      delayMs = nextDelayMs ?? DEFAULT_DELAY_MS;
    },
    deliveries: () => deliveries.map((d) => ({ ...d, headers: { ...d.headers } })),
    reset() {
      aborter.abort();
      aborter = new AbortController();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      deliveries = [];
      mode = 'normal';
      delayMs = DEFAULT_DELAY_MS;
    },
    async close() {
      aborter.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
  };
}
