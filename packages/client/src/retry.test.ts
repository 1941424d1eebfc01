import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { toTollgateError } from './errors.ts';
import { backoffDelayMs, DEFAULT_RETRY, isSafeToRetry, retryDelayFor } from './retry.ts';

const o = { ...DEFAULT_RETRY, random: () => 1 };
const err = (code: string, reason: string, details?: Record<string, unknown>) =>
  toTollgateError(
    TRPCClientError.from({
      error: {
        code: -32600,
        message: reason,
        data: { code, httpStatus: 0, reason, requestId: 'r', details },
      },
    }),
  );
const network = toTollgateError(TRPCClientError.from(new TypeError('fetch failed')));
const query = { type: 'query', input: { id: 'job_1' } };
const keyedSubmit = { type: 'mutation', input: { model: 'm', input: {}, idempotencyKey: 'k' } };
const unkeyed = { type: 'mutation', input: { tenantId: 'ten_1' } };

describe('retry policy', () => {
  it('retries only reads and mutations that carry an idempotency key', () => {
    expect(isSafeToRetry(query)).toBe(true);
    expect(isSafeToRetry(keyedSubmit)).toBe(true);
    expect(isSafeToRetry(unkeyed)).toBe(false);
    expect(retryDelayFor(network, unkeyed, 1, o)).toBeNull();
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, o))).toEqual([200, 400, 800, 1600, 5000]);
    expect(backoffDelayMs(3, { ...o, random: () => 0.5 })).toBe(400);
    expect(backoffDelayMs(3, { ...o, random: () => 0 })).toBe(0);
  });

  it('retries network errors, 503 and in-flight conflicts; stops at maxAttempts', () => {
    expect(retryDelayFor(network, keyedSubmit, 1, o)).toBe(200);
    expect(retryDelayFor(err('SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'), query, 2, o)).toBe(400);
    expect(retryDelayFor(network, query, 4, o), 'attempt 4 of 4 was the last').toBeNull();
    expect(
      retryDelayFor(err('CONFLICT', 'IDEMPOTENCY_IN_FLIGHT', { retryAfterSeconds: 1 }), keyedSubmit, 1, o),
    ).toBe(1200);
  });

  it('honours retry-after on 429, and gives up when it is longer than maxRetryAfterMs', () => {
    expect(
      retryDelayFor(err('TOO_MANY_REQUESTS', 'RATE_LIMIT', { retryAfterSeconds: 2 }), keyedSubmit, 1, o),
    ).toBe(2200);
    expect(
      retryDelayFor(
        err('TOO_MANY_REQUESTS', 'DAILY_SPEND_LIMIT', { retryAfterSeconds: 3600 }),
        keyedSubmit,
        1,
        o,
      ),
    ).toBeNull();
  });

  it('never retries what will fail again', () => {
    for (const [code, reason] of [
      ['PAYMENT_REQUIRED', 'INSUFFICIENT_BALANCE'],
      ['BAD_REQUEST', 'INVALID_INPUT'],
      ['UNAUTHORIZED', 'INVALID_TOKEN'],
      ['NOT_FOUND', 'NOT_FOUND'],
      ['CONFLICT', 'IDEMPOTENCY_CONFLICT'],
      ['INTERNAL_SERVER_ERROR', 'INTERNAL'],
    ] as const) {
      expect(retryDelayFor(err(code, reason), query, 1, o), reason).toBeNull();
    }
  });

  it('does not retry an aborted call', () => {
    const signal = AbortSignal.abort();
    expect(retryDelayFor(network, { ...query, signal }, 1, o)).toBeNull();
  });
});
