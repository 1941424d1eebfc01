import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DomainError,
  describeTRPCError,
  isDatabaseUnavailable,
  renderHttpError,
  toTRPCError,
} from './errors.ts';
import { createLogger } from './logger.ts';

const log = createLogger({ level: 'silent' });

describe('error mapping', () => {
  it('DomainError → tRPC code, reason and details preserved', () => {
    const d = new DomainError({
      code: 'PAYMENT_REQUIRED',
      reason: 'INSUFFICIENT_BALANCE',
      message: 'low',
      details: { requiredMicroCents: 5, availableMicroCents: 1 },
    });
    const t = toTRPCError(d);
    expect(t.code).toBe('PAYMENT_REQUIRED');
    expect(describeTRPCError(t)).toEqual({
      message: 'low',
      reason: 'INSUFFICIENT_BALANCE',
      details: { requiredMicroCents: 5, availableMicroCents: 1 },
    });
    expect(renderHttpError(d, 'req_1', log)).toMatchObject({
      status: 402,
      body: { code: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE', message: 'low', requestId: 'req_1' },
    });
  });

  it('unknown errors become a generic 500 without internals', () => {
    const r = renderHttpError(new Error('password=hunter2 at db.ts:12'), 'req_2', log);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({
      code: 'INTERNAL_SERVER_ERROR',
      reason: 'INTERNAL',
      message: 'Internal server error',
      requestId: 'req_2',
    });
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
  });

  it('zod input errors name the fields', () => {
    const parsed = z.object({ amount: z.number() }).safeParse({ amount: 'x' });
    const t = new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
    const d = describeTRPCError(t);
    expect(d.reason).toBe('INVALID_INPUT');
    expect(d.message).toContain('amount');
    expect(d.details).toEqual({ issues: [expect.objectContaining({ path: 'amount' })] });
  });

  it('retry-after becomes a header', () => {
    const d = new DomainError({
      code: 'TOO_MANY_REQUESTS',
      reason: 'RATE_LIMIT',
      message: 'slow down',
      details: { retryAfterSeconds: 2.2 },
    });
    expect(renderHttpError(d, 'r', log).headers).toEqual({ 'retry-after': '3' });
  });

  describe('database unavailable → 503 DATABASE_UNAVAILABLE with Retry-After', () => {
    const withCode = (code: string, message = 'connect ECONNREFUSED 127.0.0.1:5432') =>
      Object.assign(new Error(message), { code });
    const expect503 = (err: unknown) => {
      const r = renderHttpError(err, 'req_db', log);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        reason: 'DATABASE_UNAVAILABLE',
        message: 'The database is temporarily unavailable; retry shortly',
        requestId: 'req_db',
        details: { retryAfterSeconds: 2 },
      });
      expect(r.headers).toEqual({ 'retry-after': '2' });
      expect(JSON.stringify(r.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|5432/);
    };

    it.each([
      'ECONNREFUSED',
      'ECONNRESET',
      'ENOTFOUND',
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      '57P01',
      '57P02',
      '57P03',
      '53300',
      '08006',
      '08001',
    ])('driver code %s', (code) => {
      expect503(withCode(code));
      expect(isDatabaseUnavailable(withCode(code))).toBe(true);
    });

    it('also when wrapped: Drizzle cause chain, AggregateError, a tRPC 500 wrapping it', () => {
      expect503(new Error('Failed query: select 1', { cause: withCode('ECONNREFUSED') }));
      expect503(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect'));
      const t = toTRPCError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: withCode('57P01') }));
      expect(t.code).toBe('SERVICE_UNAVAILABLE');
      expect(describeTRPCError(t).reason).toBe('DATABASE_UNAVAILABLE');
    });

    it('query errors (constraint, serialization, syntax) stay what they were', () => {
      for (const code of ['23505', '40001', '42601', '22003', 'ERR_SOMETHING']) {
        expect(isDatabaseUnavailable(withCode(code, 'boom'))).toBe(false);
        expect(renderHttpError(withCode(code, 'boom'), 'r', log).status).toBe(500);
      }
      const t = new TRPCError({ code: 'BAD_REQUEST', cause: withCode('ECONNREFUSED') });
      expect(toTRPCError(t)).toBe(t);
    });
  });
});
