// Load generator on node:http with a keep-alive Agent (no third-party loader). Two modes:
// - closed loop (`runClosedLoop`): N workers, each sends its next request when the previous one
//   answers: finds the maximum throughput at that concurrency.
// - open loop (`runOpenLoop`): requests are due at a fixed arrival rate whatever the server does, and
//   latency is measured from when a request was DUE, not when it was sent, so a stalled server
//   cannot hide its stall (no coordinated omission).
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Histogram, type LatencySummary } from './stats';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Target {
  host: string;
  port: number;
}

/** What counts as a success: the status code and, optionally, a check of the body. */
export type Verify = (status: number, body: string) => true | string;

/** Default: HTTP 2xx. Otherwise the failure is keyed by status and tRPC reason when present. */
export const verify2xx: Verify = (status, body) =>
  status >= 200 && status < 300 ? true : failureKey(status, body);

/** `"<status> <reason>"` from a tRPC or gateway error body, or just the status. */
export function failureKey(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as {
      error?: { data?: { reason?: unknown }; json?: { data?: { reason?: unknown } }; code?: unknown };
      reason?: unknown;
    };
    const reason = parsed.error?.data?.reason ?? parsed.reason ?? parsed.error?.code;
    if (typeof reason === 'string') return `${status} ${reason}`;
  } catch {
    // not JSON: the status alone says enough
  }
  return String(status);
}

export interface LoadResult {
  mode: 'closed' | 'open';
  /** Concurrency (closed) or target arrival rate per second (open). */
  concurrency?: number;
  targetRps?: number;
  durationMs: number;
  sent: number;
  ok: number;
  failed: number;
  /** Failures by key (`"503 UPSTREAM_UNAVAILABLE"`, `"ECONNRESET"`, `"timeout"`…). */
  errors: Record<string, number>;
  /** Successful answers per second over the measured window. */
  okPerSecond: number;
  /** Successful requests only. Open loop: from the due time; closed loop: from the send time. */
  latency: LatencySummary;
  /** Open loop only: requests still not sent when the window closed (the server fell behind). */
  backlog?: number;
  /** The load run before the measured window (`leadInMs`), in no other figure. */
  leadIn?: { ms: number; ok: number; failed: number };
}

export interface Progress {
  elapsedMs: number;
  ok: number;
  failed: number;
  /** Successes per second over the last progress interval. */
  currentRps: number;
}

interface CommonOptions {
  target: Target;
  /** The measured window. */
  durationMs: number;
  /**
   * Load run before the measured window, at the same concurrency or rate, and not counted: for a
   * server with deferred work (the gateway's poller completes a job 5 s after accepting it), so the
   * window measures the steady state rather than a start with none of that work yet.
   */
  leadInMs?: number;
  /** Builds request number `i` (e.g. rotating tenants). */
  make: (i: number) => RequestSpec;
  verify?: Verify;
  timeoutMs?: number;
  onProgress?: (p: Progress) => void;
  progressEveryMs?: number;
}

/** Failure key of a request abandoned because the measuring window (plus its grace) closed. */
export const UNANSWERED = 'no answer before the window closed';

function send(
  agent: http.Agent,
  target: Target,
  spec: RequestSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...spec.headers };
    if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
    const req = http.request(
      {
        agent,
        host: target.host,
        port: target.port,
        method: spec.method,
        path: spec.path,
        headers,
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ error: signal?.aborted ? UNANSWERED : (err.code ?? err.message) }),
    );
    req.end(spec.body);
  });
}

class Tally {
  readonly histogram = new Histogram();
  sent = 0;
  ok = 0;
  failed = 0;
  readonly errors: Record<string, number> = {};

  outcome(
    result: { status: number; body: string } | { error: string },
    verify: Verify,
    latencyUs: number,
  ): void {
    let key: string | true;
    if ('error' in result) key = result.error;
    else key = verify(result.status, result.body);
    if (key === true) {
      this.ok += 1;
      this.histogram.record(latencyUs);
    } else {
      this.failed += 1;
      this.errors[key] = (this.errors[key] ?? 0) + 1;
    }
  }
}

/** Progress over the lead-in and the measured window alike (elapsed counts from the lead-in's start). */
function progressTimer(tallies: readonly Tally[], start: number, opts: CommonOptions): () => void {
  if (!opts.onProgress) return () => {};
  const sum = (k: 'ok' | 'failed') => tallies.reduce((n, t) => n + t[k], 0);
  let lastOk = 0;
  let lastAt = start;
  const timer = setInterval(() => {
    const now = performance.now();
    const ok = sum('ok');
    opts.onProgress?.({
      elapsedMs: now - start,
      ok,
      failed: sum('failed'),
      currentRps: ((ok - lastOk) * 1000) / Math.max(1, now - lastAt),
    });
    lastOk = ok;
    lastAt = now;
  }, opts.progressEveryMs ?? 2_000);
  return () => clearInterval(timer);
}

/**
 * N workers back to back for `leadInMs` + `durationMs`; what answers inside the measured window is
 * counted (a request answered after the deadline is awaited but not counted).
 */
export async function runClosedLoop(opts: CommonOptions & { concurrency: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const verify = opts.verify ?? verify2xx;
  const tally = new Tally();
  const lead = new Tally();
  const start = performance.now();
  const measureFrom = start + (opts.leadInMs ?? 0);
  const deadline = measureFrom + opts.durationMs;
  const stopProgress = progressTimer([lead, tally], start, opts);
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const sentAt = performance.now();
      const result = await send(agent, opts.target, opts.make(i), opts.timeoutMs ?? 30_000);
      const doneAt = performance.now();
      if (doneAt > deadline) continue;
      const t = doneAt < measureFrom ? lead : tally;
      t.sent += 1;
      t.outcome(result, verify, (doneAt - sentAt) * 1000);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    stopProgress();
    agent.destroy();
  }
  const durationMs = Math.min(performance.now(), deadline) - measureFrom;
  return {
    mode: 'closed',
    concurrency: opts.concurrency,
    durationMs: Math.round(durationMs),
    sent: tally.sent,
    ok: tally.ok,
    failed: tally.failed,
    errors: tally.errors,
    okPerSecond: Math.round((tally.ok * 1000) / durationMs),
    latency: tally.histogram.summary(),
    ...leadInFigure(opts, lead),
  };
}

/**
 * Requests due at `rps` per second for `durationMs`. Up to `maxSockets` are in flight; the rest wait
 * in the agent's queue with their clock running. Requests due but never issued are counted as
 * backlog; requests without an answer `graceMs` after the window are aborted and counted as failures
 * (UNANSWERED): a server that falls behind shows it, and the run stays bounded in time.
 */
export async function runOpenLoop(
  opts: CommonOptions & { rps: number; maxSockets?: number; graceMs?: number },
): Promise<LoadResult> {
  // lifo: reuse the most recently used socket, so idle ones age out instead of racing the server's
  // keep-alive timeout (a reused socket the server is closing shows up as ECONNRESET).
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 256, scheduling: 'lifo' });
  const verify = opts.verify ?? verify2xx;
  const tally = new Tally();
  const lead = new Tally();
  const leadInMs = opts.leadInMs ?? 0;
  const runMs = leadInMs + opts.durationMs;
  const intervalMs = 1000 / opts.rps;
  const total = Math.floor((runMs / 1000) * opts.rps);
  // Bound the backlog: a server far behind would otherwise grow an unbounded queue of promises.
  const maxQueued = Math.max(1000, opts.rps * 5);
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const stopProgress = progressTimer([lead, tally], start, opts);
  const abort = new AbortController();
  // One signal for every request of the run: each adds a listener (0 = no leak warning limit).
  setMaxListeners(0, abort.signal);
  const hardStop = setTimeout(() => abort.abort(), runMs + (opts.graceMs ?? 3_000));
  let issued = 0;
  try {
    while (issued < total) {
      const now = performance.now();
      while (issued < total && start + issued * intervalMs <= now && pending.size < maxQueued) {
        const due = start + issued * intervalMs;
        const spec = opts.make(issued);
        issued += 1;
        const t = due < start + leadInMs ? lead : tally;
        t.sent += 1;
        const p: Promise<void> = send(agent, opts.target, spec, opts.timeoutMs ?? 30_000, abort.signal).then(
          (result) => {
            t.outcome(result, verify, (performance.now() - due) * 1000);
            pending.delete(p);
          },
        );
        pending.add(p);
      }
      if (abort.signal.aborted) break;
      if (pending.size >= maxQueued) {
        // Far behind: wait for an answer instead of queueing more (the due clock keeps running).
        await Promise.race(pending);
        continue;
      }
      if (performance.now() - start > runMs + 1_000) break;
      // Sleep until the next request is due (Node's timers count whole milliseconds: rounded up, so
      // one wake-up a request). Waking every millisecond instead cost the load generator ~20% more
      // CPU per request at 300/s, taken from the processes under test on a shared machine. A request
      // sent late by the timer's jitter is timed from when it was due, in every figure alike.
      await new Promise((r) =>
        setTimeout(r, Math.max(0, Math.ceil(start + issued * intervalMs - performance.now()))),
      );
    }
    await Promise.all(pending);
  } finally {
    clearTimeout(hardStop);
    stopProgress();
    agent.destroy();
  }
  const durationMs = Math.max(opts.durationMs, 1);
  return {
    mode: 'open',
    targetRps: opts.rps,
    durationMs: Math.round(performance.now() - start - leadInMs),
    sent: tally.sent,
    ok: tally.ok,
    failed: tally.failed,
    errors: tally.errors,
    okPerSecond: Math.round((tally.ok * 1000) / durationMs),
    latency: tally.histogram.summary(),
    backlog: total - issued,
    ...leadInFigure(opts, lead),
  };
}

function leadInFigure(opts: CommonOptions, lead: Tally): Pick<LoadResult, 'leadIn'> {
  const ms = opts.leadInMs ?? 0;
  return ms > 0 ? { leadIn: { ms, ok: lead.ok, failed: lead.failed } } : {};
}
