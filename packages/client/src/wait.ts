import type { Job, JobStatus, TollgateTRPCClient } from './client.ts';

/** Statuses a job never leaves. `unknown` is not one: the gateway resolves it later. */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'completed',
  'failed',
  'cancelled',
  'rejected',
]);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export type WaitForJobOptions = {
  /** Stops waiting (the promise rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Milliseconds between polls (default 1000). */
  pollInterval?: number | undefined;
  /** Gives up after this many milliseconds (rejects with a TimeoutError); default: no limit. */
  timeoutMs?: number | undefined;
  /** Called with the job on the first poll and whenever its status changes. */
  onProgress?: ((job: Job) => void) | undefined;
};

/**
 * Polls `jobs.get` until the job reaches a terminal status and returns it. A failed, cancelled or
 * rejected job is returned, not thrown: check `job.status`. Errors of `jobs.get` itself (not found,
 * auth) are thrown; transient ones are already retried by the client.
 */
export async function waitForJob(
  client: Pick<TollgateTRPCClient, 'jobs'>,
  id: string,
  opts: WaitForJobOptions = {},
): Promise<Job> {
  const interval = opts.pollInterval ?? 1000;
  if (!(Number.isFinite(interval) && interval >= 0)) {
    throw new RangeError(`pollInterval must be a non-negative number of milliseconds, got ${interval}`);
  }
  const signal =
    opts.timeoutMs === undefined
      ? opts.signal
      : opts.signal === undefined
        ? AbortSignal.timeout(opts.timeoutMs)
        : AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  let lastStatus: JobStatus | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const job = await poll(client, id, signal);
    if (job.status !== lastStatus) {
      lastStatus = job.status;
      opts.onProgress?.(job);
    }
    if (isTerminal(job.status)) return job;
    await sleep(interval, signal);
  }
}

/**
 * One `jobs.get`, abortable through `signal` by way of a signal of its own: tRPC adds an abort
 * listener to the signal of every call and never removes it, so passing the caller's long-lived
 * signal to each poll piled up listeners (Node's MaxListenersExceededWarning after ten polls).
 */
async function poll(client: Pick<TollgateTRPCClient, 'jobs'>, id: string, signal: AbortSignal | undefined) {
  if (signal === undefined) return client.jobs.get.query({ id });
  const own = new AbortController();
  const forward = () => own.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    return await client.jobs.get.query({ id }, { signal: own.signal });
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
