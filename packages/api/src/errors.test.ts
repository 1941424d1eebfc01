import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError, describeTRPCError, renderHttpError, toTRPCError } from './errors.ts';
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
});
