import type { AppRouter } from '@tollgate/api/router';
import { TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { type TollgateError, toTollgateError } from './errors.ts';
import { type ResolvedRetryOptions, retryDelayFor } from './retry.ts';

/** Mutations for which the client invents an idempotency key when the caller gave none. */
export const AUTO_IDEMPOTENCY_PATHS: ReadonlySet<string> = new Set(['jobs.submit']);

/** A fresh idempotency key: `tgk_` + a random UUID (printable ASCII, as the gateway requires). */
export function newIdempotencyKey(): string {
  return `tgk_${globalThis.crypto.randomUUID()}`;
}

/**
 * Gives each logical `jobs.submit` call its own idempotency key, once, above the retry link — so
 * every retry of that call carries the same key and the gateway charges at most once.
 */
export function idempotencyKeyLink(newKey: () => string = newIdempotencyKey): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) => {
      const input: unknown = op.input;
      if (
        op.type === 'mutation' &&
        AUTO_IDEMPOTENCY_PATHS.has(op.path) &&
        input !== null &&
        typeof input === 'object' &&
        (input as { idempotencyKey?: unknown }).idempotencyKey === undefined
      ) {
        return next({ ...op, input: { ...input, idempotencyKey: newKey() } });
      }
      return next(op);
    };
}

export type RetryEvent = { path: string; attempt: number; delayMs: number; error: TollgateError };

/**
 * Maps every failure to a typed tollgate error, and retries the safe ones (see `retryDelayFor`) with
 * backoff. tRPC's own `retryLink` cannot honour Retry-After (its delay sees only the attempt
 * number), hence this small link modelled on it. `retry: null` maps errors without retrying.
 */
export function tollgateRetryLink(
  retry: ResolvedRetryOptions | null,
  onRetry?: (event: RetryEvent) => void,
): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let current: { unsubscribe(): void } | undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let done = false;
        const onAbort = () => {
          if (timer === undefined) return;
          clearTimeout(timer);
          timer = undefined;
          done = true;
          observer.error(TRPCClientError.from<AppRouter>(abortError(op.signal)));
        };
        op.signal?.addEventListener('abort', onAbort);
        const finish = () => {
          done = true;
          op.signal?.removeEventListener('abort', onAbort);
        };

        const attempt = (attempts: number) => {
          timer = undefined;
          current = next(op).subscribe({
            next(envelope) {
              observer.next(envelope);
            },
            complete() {
              finish();
              observer.complete();
            },
            error(raw) {
              const error = toTollgateError(raw) as TRPCClientError<AppRouter>;
              const delayMs = retry === null || done ? null : retryDelayFor(error, op, attempts, retry);
              if (delayMs === null) {
                finish();
                observer.error(error);
                return;
              }
              onRetry?.({ path: op.path, attempt: attempts, delayMs, error: error as TollgateError });
              timer = setTimeout(() => attempt(attempts + 1), delayMs);
            },
          });
        };
        attempt(1);

        return () => {
          finish();
          if (timer !== undefined) clearTimeout(timer);
          current?.unsubscribe();
        };
      });
}

function abortError(signal: AbortSignal | null | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}
