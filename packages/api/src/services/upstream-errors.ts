import type { PixelbyteError } from '@tollgate/pixelbyte';
import { DomainError } from '../errors.ts';

/**
 * The documented error codes (pixelbyte-api.md) whose HTTP status does not say whose fault they are,
 * or that may come with a status that says nothing (a `200 {success:false}`), mapped to the status
 * the switch below reads. A code's meaning beats its status: USER_NOT_FOUND (a 404) is the operator's
 * account, not an unknown model; INVALID_WEBHOOK_URL (a 400) is about the URL the gateway itself sends
 * (PUBLIC_BASE_URL), not the tenant's input; JOB_NOT_FOUND and JOB_CANNOT_BE_CANCELLED make no sense
 * for a submit. Undocumented codes keep their HTTP status.
 */
const STATUS_BY_FAULT: Record<string, number> = {
  // The tenant's request.
  INVALID_INPUT: 400,
  MODEL_NOT_FOUND: 404,
  MODEL_VERSION_NOT_FOUND: 404,
  INVALID_MODEL_SLUG: 404, // a 400 upstream, but it says the model is unknown
  MODEL_VERSION_NOT_ACTIVE: 400,
  // The operator's configuration or account.
  UNAUTHORIZED: 401,
  INVALID_API_KEY: 401,
  API_KEY_INACTIVE: 401,
  API_KEY_EXPIRED: 401,
  USER_NOT_FOUND: 401,
  IP_NOT_WHITELISTED: 403,
  OPERATION_NOT_ALLOWED: 403,
  MODEL_ACCESS_DENIED: 403,
  USER_BANNED: 403,
  USER_INACTIVE: 403,
  UNAUTHORIZED_ACCESS: 403,
  INVALID_WEBHOOK_URL: 403,
  INSUFFICIENT_BALANCE: 402,
  // Capacity.
  CONCURRENT_JOBS_EXCEEDED: 429,
  // Pixelbyte itself.
  INTERNAL_ERROR: 500,
  PUBSUB_PUBLISH_FAILED: 503,
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
      code: 'TOO_MANY_REQUESTS',
      reason: 'UPSTREAM_RATE_LIMITED',
      message: 'Pixelbyte is at capacity; retry later',
      details: { ...details, retryAfterSeconds: e.retryAfterSeconds ?? 5 },
    });
  }
  if (status === 402) {
    return new DomainError({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'UPSTREAM_ACCOUNT_EMPTY',
      message: "the operator's Pixelbyte account cannot pay for jobs right now; you were not charged",
      details,
    });
  }
  if (status === 401 || status === 403) {
    return new DomainError({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'UPSTREAM_UNAVAILABLE',
      message: 'Pixelbyte refused the gateway (operator configuration); you were not charged',
      details,
    });
  }
  if (status === 404) {
    return new DomainError({
      code: 'BAD_REQUEST',
      reason: 'UNKNOWN_MODEL',
      message: `Pixelbyte does not know this model (${e.code}); you were not charged`,
      details,
    });
  }
  if (status >= 400 && status < 500) {
    return new DomainError({
      code: 'BAD_REQUEST',
      reason: 'UPSTREAM_REJECTED',
      message: `Pixelbyte rejected the job: ${e.message}; you were not charged`,
      details,
    });
  }
  return new DomainError({
    code: 'SERVICE_UNAVAILABLE',
    reason: 'UPSTREAM_UNAVAILABLE',
    message: 'Pixelbyte is unavailable; you were not charged',
    details: { ...details, retryAfterSeconds: e.retryAfterSeconds ?? 5 },
  });
}

/** The request never left the gateway (connection refused, DNS): released, safe to retry. */
export function upstreamNotSentError(e: PixelbyteError, jobId: string): DomainError {
  return new DomainError({
    code: 'SERVICE_UNAVAILABLE',
    reason: 'UPSTREAM_UNAVAILABLE',
    message: 'Pixelbyte could not be reached; you were not charged',
    details: { jobId, upstreamCode: e.code, retryAfterSeconds: 5 },
  });
}
