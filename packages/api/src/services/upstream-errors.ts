import { DOCUMENTED_ERROR_STATUS, type PixelbyteError } from '@tollgate/pixelbyte';
import { DomainError } from '../errors.ts';

/**
 * The status the switch below reads for each documented error code: Pixelbyte's own
 * (`DOCUMENTED_ERROR_STATUS`, from pixelbyte-api.md) except where the code's meaning says another
 * party's fault than its status. A code beats its status, so a `200 {success:false}` is mapped by
 * its code too; undocumented codes keep their HTTP status.
 */
const STATUS_BY_FAULT: Readonly<Record<string, number>> = {
  ...DOCUMENTED_ERROR_STATUS,
  // A 400 upstream, but it says the model is unknown.
  INVALID_MODEL_SLUG: 404,
  // A 404 upstream: the operator's Pixelbyte account, not an unknown model.
  USER_NOT_FOUND: 401,
  // A 400 upstream: the URL the gateway itself sends (PUBLIC_BASE_URL), not the tenant's input.
  INVALID_WEBHOOK_URL: 403,
  // Make no sense for a submit: Pixelbyte misbehaving.
  JOB_NOT_FOUND: 500,
  JOB_CANNOT_BE_CANCELLED: 500,
};

/**
 * Maps a definitive Pixelbyte refusal of a submit (the job was not created, the hold is released)
 * to what the tenant sees. Whose fault decides the code: a bad request is the tenant's (400); a bad
 * API key or an empty operator account is the operator's, so the tenant gets 503, never 401/402.
 */
export function upstreamRejectionError(e: PixelbyteError, jobId: string): DomainError {
  const details = { jobId, upstreamCode: e.code, ...(e.requestId ? { upstreamRequestId: e.requestId } : {}) };
  const status = STATUS_BY_FAULT[e.code] ?? e.status ?? 0;
  if (status === 429) {
    return new DomainError({
      reason: 'UPSTREAM_RATE_LIMITED',
      details: { ...details, retryAfterSeconds: e.retryAfterSeconds ?? 5 },
    });
  }
  if (status === 402) {
    return new DomainError({
      reason: 'UPSTREAM_ACCOUNT_EMPTY',
      details,
    });
  }
  if (status === 401 || status === 403) {
    return new DomainError({
      reason: 'UPSTREAM_UNAVAILABLE',
      message: 'Pixelbyte refused the gateway (operator configuration); you were not charged',
      details,
    });
  }
  if (status === 404) {
    return new DomainError({
      reason: 'UNKNOWN_MODEL',
      message: `Pixelbyte does not know this model (${e.code}); you were not charged`,
      details,
    });
  }
  if (status >= 400 && status < 500) {
    return new DomainError({
      reason: 'UPSTREAM_REJECTED',
      message: `Pixelbyte rejected the job: ${e.message}; you were not charged`,
      details,
    });
  }
  return new DomainError({
    reason: 'UPSTREAM_UNAVAILABLE',
    details: { ...details, retryAfterSeconds: e.retryAfterSeconds ?? 5 },
  });
}

/** The request never left the gateway (connection refused, DNS): released, safe to retry. */
export function upstreamNotSentError(e: PixelbyteError, jobId: string): DomainError {
  return new DomainError({
    reason: 'UPSTREAM_UNAVAILABLE',
    message: 'Pixelbyte could not be reached; you were not charged',
    details: { jobId, upstreamCode: e.code, retryAfterSeconds: 5 },
  });
}
