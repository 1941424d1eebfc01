/**
 * zod schemas for Pixelbyte's success responses. They are deliberately tolerant where the docs are
 * (numbers may be numeric strings, optional fields may be missing) and strict where money or identity
 * is at stake (amounts must be exact non-negative integers, job ids must be present).
 */
import { z } from 'zod';
import type { UpstreamJobStatus, UpstreamOutput } from './types.ts';

/** The largest amount the ledger stores (a Postgres bigint). */
const MAX_MICRO_CENTS = 9_223_372_036_854_775_807n;

/**
 * Exact integer amount: a safe-integer JSON number, an exact bigint (large literal, see exact-json.ts)
 * or a string of digits. Floats, exponents and negative amounts are rejected, never rounded.
 */
export function toMicroCents(value: unknown): bigint | undefined {
  const amount =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number'
        ? Number.isSafeInteger(value)
          ? BigInt(value)
          : undefined
        : typeof value === 'string' && /^\d{1,19}$/.test(value)
          ? BigInt(value)
          : undefined;
  // Beyond a Postgres bigint no amount can be stored: an invalid answer (the job id is still kept).
  return amount !== undefined && amount >= 0n && amount <= MAX_MICRO_CENTS ? amount : undefined;
}

export const microCentsSchema = z.unknown().transform((value, ctx): bigint => {
  const amount = toMicroCents(value);
  if (amount === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a non-negative integer amount, got ${describe(value)}`,
    });
    return z.NEVER;
  }
  return amount;
});

/** Like microCentsSchema but signed: breakdown lines may be negative (a discount). */
export const signedMicroCentsSchema = z.unknown().transform((value, ctx): bigint => {
  const amount =
    typeof value === 'bigint'
      ? value
      : typeof value === 'number' && Number.isSafeInteger(value)
        ? BigInt(value)
        : typeof value === 'string' && /^-?\d{1,30}$/.test(value)
          ? BigInt(value)
          : undefined;
  if (amount === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected an integer amount, got ${describe(value)}` });
    return z.NEVER;
  }
  return amount;
});

const STATUS_ALIASES: Record<string, UpstreamJobStatus> = {
  pending: 'pending',
  queued: 'pending',
  processing: 'processing',
  running: 'processing',
  in_progress: 'processing',
  completed: 'completed',
  succeeded: 'completed',
  success: 'completed',
  failed: 'failed',
  error: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
};

/** Case-insensitive, with a few spellings other providers use; anything else is an invalid response. */
export const jobStatusSchema = z.string().transform((value, ctx): UpstreamJobStatus => {
  const status = STATUS_ALIASES[value.trim().toLowerCase()];
  if (status === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown job status ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return status;
});

const idSchema = z.string().min(1);

/** A string, or null for anything else (missing, null, unexpected type). */
const optionalString = z
  .unknown()
  .optional()
  .transform((v): string | null => (typeof v === 'string' ? v : null));

const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A time the docs give as ISO 8601: kept when it parses to an instant a database can store, null
 * otherwise ("N/A", unix seconds, garbage). Never an error: a bad timestamp on an answer about a job's
 * money (a failed job to refund, an accepted one to capture) must not stop that money moving.
 */
const optionalTime = z
  .unknown()
  .optional()
  .transform((v): string | null => {
    if (typeof v !== 'string') return null;
    const t = Date.parse(v);
    return Number.isNaN(t) || t < EARLIEST_TIME || t > LATEST_TIME ? null : v;
  });

const progressSchema = z
  .unknown()
  .optional()
  .transform((v, ctx): number | null => {
    if (v === null || v === undefined || v === '') return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n) || n < 0 || n > 100) {
      ctx.addIssue({ code: 'custom', message: `expected progress 0..100, got ${describe(v)}` });
      return z.NEVER;
    }
    return n;
  });

const booleanish = z
  .unknown()
  .optional()
  .transform((v): boolean => v === true || v === 'true');

function urlOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isRecord(v)) {
    for (const key of ['url', 'imageUrl', 'videoUrl']) {
      const candidate = v[key];
      if (typeof candidate === 'string') return candidate;
    }
  }
  return null;
}

const outputsSchema = z
  .unknown()
  .optional()
  .transform((v): UpstreamOutput[] => {
    if (!Array.isArray(v)) return [];
    const outputs: UpstreamOutput[] = [];
    for (const item of v) {
      const url = urlOf(item);
      if (url === null) continue;
      const record = isRecord(item) ? item : {};
      outputs.push({
        url,
        type: typeof record.type === 'string' ? record.type : null,
        thumbnail: typeof record.thumbnail === 'string' ? record.thumbnail : null,
        posterImage: typeof record.posterImage === 'string' ? record.posterImage : null,
      });
    }
    return outputs;
  });

const jobErrorSchema = z
  .unknown()
  .optional()
  .transform((v): { code: string; message: string } | null => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return { code: v, message: v };
    if (isRecord(v)) {
      const code = typeof v.code === 'string' ? v.code : 'UNKNOWN';
      const message = typeof v.message === 'string' ? v.message : code;
      return { code, message };
    }
    return { code: 'UNKNOWN', message: describe(v) };
  });

export const submitJobResponseSchema = z.object({
  jobId: idSchema,
  requestId: optionalString,
  status: jobStatusSchema.default('pending'),
  estimatedCompletionTime: optionalTime,
  costMicroCents: microCentsSchema,
});

export const upstreamJobSchema = z
  .object({
    jobId: idSchema,
    status: jobStatusSchema,
    progress: progressSchema,
    output: z.unknown().optional(),
    outputs: outputsSchema,
    error: jobErrorSchema,
    createdAt: optionalTime,
    completedAt: optionalTime,
  })
  .transform((job) => ({
    ...job,
    // The docs define `output` as the first output URL; derive it when only `outputs` was sent.
    output: urlOf(job.output) ?? job.outputs[0]?.url ?? null,
  }));

export const listJobsResponseSchema = z.object({
  jobs: z.array(
    z.object({
      jobId: idSchema,
      status: jobStatusSchema,
      progress: progressSchema,
      model: optionalString,
      createdAt: optionalTime,
      completedAt: optionalTime,
    }),
  ),
  nextCursor: optionalString,
  hasMore: booleanish,
});

export const cancelJobResponseSchema = z.object({
  jobId: idSchema,
  status: jobStatusSchema.default('cancelled'),
  refundedMicroCents: microCentsSchema,
});

export const estimateResponseSchema = z.object({
  baseCostMicroCents: microCentsSchema,
  estimatedCostMicroCents: microCentsSchema,
  breakdown: z
    .array(z.object({ component: z.string(), costMicroCents: signedMicroCentsSchema }))
    .nullish()
    .transform((v) => v ?? []),
  hasDiscount: booleanish,
  discounted: z
    .unknown()
    .optional()
    .transform((v) => v ?? null),
});

export const modelResponseSchema = z.object({
  id: idSchema,
  name: optionalString,
  category: optionalString,
  currentVersion: optionalString,
  versions: z
    .array(
      z.object({
        versionId: z.string(),
        status: optionalString,
        inputSchema: z
          .unknown()
          .optional()
          .transform((v) => v ?? null),
        pricing: z
          .unknown()
          .optional()
          .transform((v) => v ?? null),
        rateLimits: z
          .unknown()
          .optional()
          .transform((v) => v ?? null),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
});

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}
