import { createHash } from 'node:crypto';
import { type Job, jobStatus, modeOfTenant, publicTenantId } from '@tollgate/db';
import { decodeCursor } from '@tollgate/db/ledger';
import { toSafeNumber } from '@tollgate/pricing';
import { z } from 'zod';
import { DomainError } from '../errors.ts';

/** The largest amount the wire carries exactly (2^53 − 1 micro-cents, about $9 billion). */
export const MAX_WIRE_MICRO_CENTS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Wire ↔ inside conversions for money. Inside: bigint micro-cents. On the wire (JSON): a safe
 * integer number, or (input only) a string of digits for callers that keep amounts as strings.
 * Outputs beyond 2^53 − 1 cannot be represented exactly in JSON numbers: rather than send a rounded
 * amount we fail the call with AMOUNT_OUT_OF_RANGE (documented in the README). For a single balance or
 * charge, which the ledger keeps within that range. A total (a sum) goes through `wireTotals` instead.
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

/** A JSON number when the amount fits one exactly (|n| ≤ 2^53 − 1), else null. Never throws, never rounds. */
export function exactNumberOrNull(microCents: bigint): number | null {
  return microCents <= MAX_WIRE_MICRO_CENTS && microCents >= -MAX_WIRE_MICRO_CENTS
    ? Number(microCents)
    : null;
}

/** `wireTotals`' answer: each field as a number (null past 2^53 − 1), and `<field>Exact` as a decimal string. */
export type WireTotals<K extends string> = { [P in K]: number | null } & { [P in K as `${P}Exact`]: string };

/**
 * Totals (sums over tenants, jobs or time) on the wire. Every balance fits a JSON number exactly (the
 * ledger refuses a credit past 2^53 − 1), but a sum of them need not: two tenants at $5 billion each,
 * or the funding total of years of top-ups. A report must never fail because a sum is large, and
 * never round it, so each total is sent twice: `xMicroCents`, the JSON number when it is exact, null
 * beyond 2^53 − 1; and `xMicroCentsExact`, always, the exact decimal string ("18014398509481984").
 * Read the string when you need every total exactly (`BigInt(x.totalMicroCentsExact)`).
 */
export function wireTotals<K extends string>(totals: Record<K, bigint>): WireTotals<K> {
  const out: Record<string, number | string | null> = {};
  for (const [key, value] of Object.entries(totals) as [K, bigint][]) {
    out[key] = exactNumberOrNull(value);
    out[`${key}Exact`] = value.toString();
  }
  return out as WireTotals<K>;
}

/**
 * A wire amount ≥ 0 → bigint: a safe integer, or a string of digits (for callers that keep amounts
 * as strings). Beyond 2^53 − 1 it is refused with reason AMOUNT_OUT_OF_RANGE (docs/architecture.md):
 * such an amount could not be echoed back exactly in a JSON number.
 */
export const wireAmount = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,30}$/, 'must be a string of digits')])
  .transform((v, ctx) => {
    const n = BigInt(v);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
      ctx.addIssue({
        code: 'custom',
        message: 'amount exceeds 2^53 - 1 micro-cents',
        params: { reason: 'AMOUNT_OUT_OF_RANGE' },
      });
      return z.NEVER;
    }
    return n;
  });

/** A strictly positive wire amount. */
export const positiveWireAmount = wireAmount.refine((n) => n > 0n, 'must be greater than zero');

export const idSchema = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`), `must be an id like ${prefix}_…`);

/** A `nextCursor` this API returned; anything else is BAD_REQUEST / INVALID_CURSOR (never a query). */
export const cursorSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((c) => decodeCursor(c) !== undefined, {
    message: 'not a cursor this API returned (pass nextCursor back as is)',
    params: { reason: 'INVALID_CURSOR' },
  });

const EARLIEST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Years 0001–9999 in UTC: what a Postgres timestamp takes as ISO 8601 text. ISO accepts year 0000,
 * and an offset can push 0001-01-01 or 9999-12-31 past the range; Postgres then fails the query
 * ("date/time field value out of range"), which would be a 500.
 */
export function isStorableInstant(d: Date): boolean {
  const t = d.getTime();
  return t >= EARLIEST_INSTANT && t <= LATEST_INSTANT;
}

export const STORABLE_INSTANT_MESSAGE = 'must be between 0001-01-01 and 9999-12-31 (UTC)';

/** An ISO 8601 time with offset (`2025-01-01T00:00:00Z`) → Date, within the storable range. */
export const instantSchema = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine(isStorableInstant, STORABLE_INSTANT_MESSAGE);
export const limitSchema = z.number().int().min(1).max(100).default(20);

/** Canonical JSON (sorted keys, bigint as strings, undefined dropped): equal requests ⇒ equal text. */
export { canonicalJson } from '@tollgate/db';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

/** A job's error as tenants see it (upstream's or tollgate's code and message). */
export const jobErrorSchema = z.object({ code: z.string(), message: z.string() });
export type JobError = z.output<typeof jobErrorSchema>;

/**
 * The job as tenants see it (product.md "Job shape"). The schema is the shape: `JobView` is derived
 * from it, so a field added to the view is added here and the REST document (openapi.json) follows.
 */
export const jobViewSchema = z.object({
  id: z.string(),
  /** The tenant's id (the live one, in test mode too: `livemode` tells the book). */
  tenantId: z.string(),
  /** false for a test-mode job (sandbox: test money, the simulator), true otherwise. */
  livemode: z.boolean(),
  model: z.string(),
  status: z.enum(jobStatus.enumValues).meta({
    description:
      'submitting → pending → processing → completed | failed | cancelled; rejected: refused at submit (not charged); unknown: the submit answer was lost (held until resolved)',
  }),
  costMicroCents: z
    .number()
    .int()
    .meta({ description: 'What the job is charged, in micro-cents (1 USD = 100,000,000)' }),
  refundedMicroCents: z.number().int().meta({ description: 'Given back (failed or cancelled jobs)' }),
  upstreamJobId: z.string().nullable(),
  output: z.string().nullable().meta({ description: 'The result (e.g. a URL) once completed' }),
  outputs: z.array(z.unknown()).nullable(),
  error: jobErrorSchema.nullable(),
  tags: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  estimatedCompletionTime: z.iso.datetime().nullable(),
});
export type JobView = z.output<typeof jobViewSchema>;

/** A page of a list: `nextCursor` is passed back as `cursor` for the next page; null on the last one. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

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
    tenantId: publicTenantId(job.tenantId),
    livemode: modeOfTenant(job.tenantId) === 'live',
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
