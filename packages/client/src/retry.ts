import {
  ConflictError,
  LimitExceededError,
  NetworkError,
  RateLimitedError,
  ServiceUnavailableError,
} from './errors.ts';

/** Retry settings of `createTollgateClient`. Pass `retry: false` to turn retries off. */
export type RetryOptions = {
  /** Total attempts including the first (default 4). */
  maxAttempts?: number;
  /** First backoff step (default 200 ms); doubles each attempt. */
  baseDelayMs?: number;
  /** Cap of one backoff step (default 5 s). */
  maxDelayMs?: number;
  /**
   * A server that says "retry after N seconds" is obeyed up to this long (default 30 s); beyond it
   * the error is thrown at once so the caller decides (e.g. a daily spend limit resets at midnight).
   */
  maxRetryAfterMs?: number;
  /** Source of jitter, [0, 1). Default Math.random. */
  random?: () => number;
};

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  random: Math.random,
};

export function resolveRetryOptions(opts: RetryOptions | undefined): ResolvedRetryOptions {
  return { ...DEFAULT_RETRY, ...opts };
}

/**
 * Whether an operation may be sent twice without harm. Reads (queries) may; a mutation only when it
 * carries an `idempotencyKey` (the gateway then answers a repeat with the first result and never
 * charges twice). Other mutations are never retried: a lost answer could mean it already happened.
 */
export function isSafeToRetry(op: { type: string; input: unknown }): boolean {
  if (op.type === 'query') return true;
  if (op.type !== 'mutation') return false;
  const input = op.input;
  return (
    input !== null &&
    typeof input === 'object' &&
    typeof (input as { idempotencyKey?: unknown }).idempotencyKey === 'string'
  );
}

/** Exponential backoff with full jitter: a random delay in [0, min(max, base·2^(attempt−1))]. */
export function backoffDelayMs(attempt: number, o: ResolvedRetryOptions): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(o.random() * ceiling);
}

/**
 * The delay before the next attempt, or null when the error must be thrown now. `attempts` counts
 * the attempts made so far (1 after the first failure). Retried: network errors, 503 (and 502/504),
 * 429 honouring retry-after, and IDEMPOTENCY_IN_FLIGHT conflicts — all only for safe operations.
 */
export function retryDelayFor(
  error: unknown,
  op: { type: string; input: unknown; signal?: AbortSignal | null | undefined },
  attempts: number,
  o: ResolvedRetryOptions,
): number | null {
  if (attempts >= o.maxAttempts) return null;
  if (op.signal?.aborted) return null;
  if (!isSafeToRetry(op)) return null;
  const retryable =
    error instanceof NetworkError ||
    error instanceof ServiceUnavailableError ||
    error instanceof RateLimitedError ||
    (error instanceof LimitExceededError && error.retryAfterSeconds !== undefined) ||
    (error instanceof ConflictError && error.retryable);
  if (!retryable) return null;
  const retryAfterSeconds =
    error instanceof RateLimitedError ||
    error instanceof LimitExceededError ||
    error instanceof ServiceUnavailableError
      ? error.retryAfterSeconds
      : error instanceof ConflictError
        ? retryAfterOf(error.details)
        : undefined;
  const backoff = backoffDelayMs(attempts, o);
  if (retryAfterSeconds === undefined) return backoff;
  const serverMs = retryAfterSeconds * 1000;
  if (serverMs > o.maxRetryAfterMs) return null;
  // Never earlier than the server asked; a little jitter so many clients do not return in lockstep.
  return Math.round(serverMs + o.random() * o.baseDelayMs);
}

function retryAfterOf(details: Record<string, unknown> | undefined): number | undefined {
  const v = details?.retryAfterSeconds;
  return typeof v === 'number' && v >= 0 ? v : undefined;
}
