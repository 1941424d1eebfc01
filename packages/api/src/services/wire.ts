import { createHash } from 'node:crypto';
import type { Job } from '@tollgate/db';
import { toSafeNumber } from '@tollgate/pricing';
import { z } from 'zod';
import { DomainError } from '../errors.ts';

/**
 * Wire ↔ inside conversions for money. Inside: bigint micro-cents. On the wire (JSON): a safe
 * integer number, or (input only) a string of digits for callers that keep amounts as strings.
 * Outputs beyond 2^53 − 1 cannot be represented exactly in JSON numbers: rather than send a rounded
 * amount we fail the call with AMOUNT_OUT_OF_RANGE (documented in the README).
 */
export function toWireAmount(microCents: bigint): number {
  try {
    return toSafeNumber(microCents);
  } catch {
    throw new DomainError({
      code: 'INTERNAL_SERVER_ERROR',
      reason: 'AMOUNT_OUT_OF_RANGE',
      message: 'an amount exceeds the safe-integer range of JSON numbers and cannot be sent exactly',
    });
  }
}

const PG_BIGINT_MAX = 9_223_372_036_854_775_807n;

/** A wire amount ≥ 0 (safe integer, or a digit string within Postgres bigint) → bigint. */
export const wireAmount = z
  .union([
    z.number().int().safe().nonnegative(),
    z.string().regex(/^\d{1,19}$/, 'must be a string of digits'),
  ])
  .transform((v, ctx) => {
    const n = BigInt(v);
    if (n > PG_BIGINT_MAX) {
      ctx.addIssue({ code: 'custom', message: 'amount out of range (AMOUNT_OUT_OF_RANGE)' });
      return z.NEVER;
    }
    return n;
  });

/** A strictly positive wire amount. */
export const positiveWireAmount = wireAmount.refine((n) => n > 0n, 'must be greater than zero');

export const idSchema = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`), `must be an id like ${prefix}_…`);

export const cursorSchema = z.string().min(1).max(512);
export const limitSchema = z.number().int().min(1).max(100).default(20);

function canonical(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/** Canonical JSON (sorted keys, bigint as strings, undefined dropped): equal requests ⇒ equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

export type JobError = { code: string; message: string };

/** The job as tenants see it (product.md "Job shape"). */
export type JobView = {
  id: string;
  tenantId: string;
  model: string;
  status: Job['status'];
  costMicroCents: number;
  refundedMicroCents: number;
  upstreamJobId: string | null;
  output: string | null;
  outputs: unknown[] | null;
  error: JobError | null;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  estimatedCompletionTime: string | null;
};

function jobErrorOf(value: unknown): JobError | null {
  if (value && typeof value === 'object' && 'code' in value) {
    const v = value as { code: unknown; message?: unknown };
    return { code: String(v.code), message: typeof v.message === 'string' ? v.message : '' };
  }
  return null;
}

export function toJobView(job: Job): JobView {
  return {
    id: job.id,
    tenantId: job.tenantId,
    model: job.model,
    status: job.status,
    costMicroCents: toWireAmount(job.costMicroCents),
    refundedMicroCents: toWireAmount(job.refundedMicroCents),
    upstreamJobId: job.upstreamJobId,
    output: job.output,
    outputs: Array.isArray(job.outputs) ? (job.outputs as unknown[]) : null,
    error: jobErrorOf(job.error),
    tags: job.tags,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    completedAt: iso(job.completedAt),
    estimatedCompletionTime: iso(job.estimatedCompletionTime),
  };
}
