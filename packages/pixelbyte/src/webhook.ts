/**
 * Pixelbyte webhook helpers. The docs say the signature is an HMAC-SHA256 "over the timestamp and the
 * raw body" but not the exact string-to-sign; we assume `sha256=` + hex(HMAC(secret, `${timestamp}.${rawBody}`)).
 * Because that is an assumption, the gateway treats a webhook only as a trigger to re-read
 * `GET /v1/jobs/{id}`, never as the truth about a job.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isRecord } from './schemas.ts';

export const SIGNATURE_HEADER = 'X-PixelByte-Signature';
export const TIMESTAMP_HEADER = 'X-PixelByte-Timestamp';
const DEFAULT_TOLERANCE_SECONDS = 300;

/** Returns the `X-PixelByte-Signature` value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(opts: { secret: string; timestamp: number; rawBody: string }): string {
  return `sha256=${hmacHex(opts.secret, opts.timestamp, opts.rawBody)}`;
}

export type WebhookVerification =
  | { ok: true }
  | { ok: false; reason: 'MISSING' | 'STALE' | 'MISMATCH' | 'MALFORMED' };

/**
 * Verifies a webhook. The signature is checked first (constant-time), then the timestamp must be within
 * `toleranceSeconds` (default 300) of `nowSeconds` in either direction, which bounds replays.
 * `rawBody` must be the exact bytes received (as UTF-8 text), not a re-serialised object.
 */
export function verifyWebhookSignature(opts: {
  secret: string;
  rawBody: string;
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  toleranceSeconds?: number | undefined;
  nowSeconds?: number | undefined;
}): WebhookVerification {
  const { timestampHeader, signatureHeader } = opts;
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: 'MISSING' };
  const timestampText = timestampHeader.trim();
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: 'MALFORMED' };
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signatureHeader.trim());
  if (match?.[1] === undefined) return { ok: false, reason: 'MALFORMED' };
  const timestamp = Number(timestampText);

  const expected = Buffer.from(hmacHex(opts.secret, timestamp, opts.rawBody), 'hex');
  const received = Buffer.from(match[1], 'hex');
  if (!timingSafeEqual(expected, received)) return { ok: false, reason: 'MISMATCH' };

  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: 'STALE' };
  return { ok: true };
}

function hmacHex(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

export interface WebhookPayload {
  jobId?: string;
  requestId?: string;
  status?: string;
  completedAt?: string;
  /** Documented as `{imageUrl, metadata}`; do not rely on its shape. */
  output?: unknown;
  error?: { code?: string; message?: string };
}

/**
 * Reads what can be read from a webhook body (an object, or the raw JSON text), tolerating the
 * `{success, data}` envelope and `job_id`. Returns null when the body is not a JSON object.
 * Nothing here is trusted: it only tells the gateway which job to re-read.
 */
export function parseWebhookPayload(body: unknown): WebhookPayload | null {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (!isRecord(value)) return null;
  if (isRecord(value.data) && value.jobId === undefined) value = value.data;
  if (!isRecord(value)) return null;

  const payload: WebhookPayload = {};
  const jobId = stringOf(value.jobId) ?? stringOf(value.job_id);
  if (jobId !== undefined) payload.jobId = jobId;
  const requestId = stringOf(value.requestId) ?? stringOf(value.request_id);
  if (requestId !== undefined) payload.requestId = requestId;
  const status = stringOf(value.status);
  if (status !== undefined) payload.status = status;
  const completedAt = stringOf(value.completedAt) ?? stringOf(value.completed_at);
  if (completedAt !== undefined) payload.completedAt = completedAt;
  if (value.output !== undefined) payload.output = value.output;
  const error = value.error;
  if (isRecord(error)) {
    const parsedError: { code?: string; message?: string } = {};
    const code = stringOf(error.code);
    const message = stringOf(error.message);
    if (code !== undefined) parsedError.code = code;
    if (message !== undefined) parsedError.message = message;
    payload.error = parsedError;
  } else if (typeof error === 'string') {
    payload.error = { message: error };
  }
  return payload;
}

function stringOf(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
