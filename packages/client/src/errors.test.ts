import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConflictError,
  InsufficientCreditsError,
  LimitExceededError,
  NetworkError,
  NotFoundError,
  parseRetryAfter,
  RateLimitedError,
  ServiceUnavailableError,
  TollgateError,
  toTollgateError,
  ValidationError,
} from './errors.ts';

// Error responses exactly as the gateway's tRPC error formatter shapes them.
function gatewayError(code: string, reason: string, details?: Record<string, unknown>, httpStatus = 400) {
  return TRPCClientError.from({
    error: {
      code: -32600,
      message: `${reason} happened`,
      data: {
        code,
        httpStatus,
        path: 'jobs.submit',
        reason,
        requestId: 'req_abc',
        ...(details ? { details } : {}),
      },
    },
  });
}

describe('toTollgateError', () => {
  it.each([
    ['PAYMENT_REQUIRED', 'INSUFFICIENT_BALANCE', InsufficientCreditsError],
    ['TOO_MANY_REQUESTS', 'RATE_LIMIT', RateLimitedError],
    ['TOO_MANY_REQUESTS', 'UPSTREAM_RATE_LIMITED', RateLimitedError],
    ['TOO_MANY_REQUESTS', 'DAILY_SPEND_LIMIT', LimitExceededError],
    ['TOO_MANY_REQUESTS', 'CONCURRENT_JOBS_LIMIT', LimitExceededError],
    ['BAD_REQUEST', 'MAX_COST_EXCEEDED', LimitExceededError],
    ['BAD_REQUEST', 'INVALID_INPUT', ValidationError],
    ['BAD_REQUEST', 'UNKNOWN_MODEL', ValidationError],
    ['UNAUTHORIZED', 'INVALID_TOKEN', AuthError],
    ['FORBIDDEN', 'TENANT_SUSPENDED', AuthError],
    ['NOT_FOUND', 'NOT_FOUND', NotFoundError],
    ['CONFLICT', 'IDEMPOTENCY_CONFLICT', ConflictError],
    ['PRECONDITION_FAILED', 'WOULD_GO_NEGATIVE', ConflictError],
    ['SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', ServiceUnavailableError],
    ['INTERNAL_SERVER_ERROR', 'INTERNAL', TollgateError],
  ] as const)('%s / %s → %s', (code, reason, cls) => {
    const err = toTollgateError(gatewayError(code, reason));
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(TollgateError);
    expect(err, 'still a TRPCClientError for code that catches those').toBeInstanceOf(TRPCClientError);
    const e = err as TollgateError;
    expect([e.code, e.reason, e.requestId, e.message, e.name]).toEqual([
      code,
      reason,
      'req_abc',
      `${reason} happened`,
      cls.name,
    ]);
    expect(e.data?.reason, 'tRPC data stays readable').toBe(reason);
  });

  it('carries exact amounts as bigint micro-cents', () => {
    const err = toTollgateError(
      gatewayError('PAYMENT_REQUIRED', 'INSUFFICIENT_BALANCE', {
        requiredMicroCents: 40_000,
        availableMicroCents: 39_999,
      }),
    ) as InsufficientCreditsError;
    expect(err.requiredMicroCents).toBe(40_000n);
    expect(err.availableMicroCents).toBe(39_999n);
  });

  it('carries retry-after, limits and validation issues', () => {
    const rl = toTollgateError(
      gatewayError('TOO_MANY_REQUESTS', 'RATE_LIMIT', { limit: 5, retryAfterSeconds: 12 }),
    );
    expect((rl as RateLimitedError).retryAfterSeconds).toBe(12);
    const lim = toTollgateError(
      gatewayError('TOO_MANY_REQUESTS', 'CONCURRENT_JOBS_LIMIT', { limit: 3, retryAfterSeconds: 1 }),
    ) as LimitExceededError;
    expect([lim.limit, lim.retryAfterSeconds]).toEqual([3, 1]);
    const v = toTollgateError(
      gatewayError('BAD_REQUEST', 'INVALID_INPUT', {
        issues: [{ path: 'input.duration', message: 'must be one of 5, 10', code: 'invalid_value' }],
      }),
    ) as ValidationError;
    expect(v.issues).toEqual([
      { path: 'input.duration', message: 'must be one of 5, 10', code: 'invalid_value' },
    ]);
  });

  it('marks only in-flight conflicts as retryable', () => {
    expect(
      (toTollgateError(gatewayError('CONFLICT', 'IDEMPOTENCY_IN_FLIGHT')) as ConflictError).retryable,
    ).toBe(true);
    expect(
      (toTollgateError(gatewayError('CONFLICT', 'IDEMPOTENCY_CONFLICT')) as ConflictError).retryable,
    ).toBe(false);
  });

  it('maps a failed fetch to NetworkError and passes non-tRPC errors through', () => {
    const net = toTollgateError(TRPCClientError.from(new TypeError('fetch failed')));
    expect(net).toBeInstanceOf(NetworkError);
    expect((net as NetworkError).retryable).toBe(true);
    const bug = new RangeError('bug');
    expect(toTollgateError(bug)).toBe(bug);
  });

  it('leaves aborts alone (not a gateway failure, never retried)', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    const err = TRPCClientError.from(abort);
    expect(toTollgateError(err)).toBe(err);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10);
  });
});
