/**
 * The closed vocabulary of error reasons: every `reason` the gateway can answer with, its tRPC code,
 * its HTTP status and its default message, in one table. `Reason` is derived from it, so a reason
 * that is not here does not typecheck (a `DomainError`, a refusal body, the client's error classes).
 *
 * This module is data and types only (no imports): the client imports its types with `import type`
 * (`@tollgate/api/reasons`), so nothing of the server reaches a client bundle.
 *
 * - `status` is what tRPC's mapping gives for `code`, except where the answer never goes through tRPC
 *   and Node's own status is kept (HEADERS_TOO_LARGE, written straight to the socket by client-errors).
 *   `reasons.test.ts` checks both.
 * - `message` is the default: a site that knows more (which job, which field) passes its own.
 * - `also`: a second code the same reason is answered with at some sites (today's behaviour, kept);
 *   only those sites pass `code`, and only a code listed here typechecks.
 * - The README's "Errors" section documents every row (the same code and status); `reasons.test.ts`
 *   compares the two, both ways.
 */

/** The tRPC codes tollgate answers with (product.md "Error codes"); HTTP status follows tRPC's mapping. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'PARSE_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_SUPPORTED'
  | 'TIMEOUT'
  | 'CONFLICT'
  | 'PAYMENT_REQUIRED'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export type ReasonSpec = {
  readonly code: ErrorCode;
  readonly status: number;
  readonly message: string;
  readonly also?: { readonly [C in ErrorCode]?: number };
};

export const REASONS = {
  // ---- BAD_REQUEST (400): the request is wrong; the same request fails again
  INVALID_INPUT: { code: 'BAD_REQUEST', status: 400, message: 'Invalid input' },
  UNKNOWN_MODEL: { code: 'BAD_REQUEST', status: 400, message: 'unknown model' },
  UNPRICED_VALUE: {
    code: 'BAD_REQUEST',
    status: 400,
    message: 'a priced parameter has a value without a price',
  },
  MAX_COST_EXCEEDED: {
    code: 'BAD_REQUEST',
    status: 400,
    message: 'the quote is above maxCostMicroCents; nothing was charged',
  },
  UPSTREAM_REJECTED: {
    code: 'BAD_REQUEST',
    status: 400,
    message: 'Pixelbyte rejected the job; you were not charged',
  },
  AMOUNT_OUT_OF_RANGE: {
    code: 'BAD_REQUEST',
    status: 400,
    message: 'an amount is outside the range the API carries exactly (2^53 − 1 micro-cents)',
    // An amount the gateway itself cannot send exactly (services/wire.ts toWireAmount).
    also: { INTERNAL_SERVER_ERROR: 500 },
  },
  INVALID_PRICE_RULE: { code: 'BAD_REQUEST', status: 400, message: 'invalid price rule' },
  INVALID_PERIOD: { code: 'BAD_REQUEST', status: 400, message: '`from` must be before `to`' },
  INVALID_CURSOR: { code: 'BAD_REQUEST', status: 400, message: 'cursor is not valid' },
  MALFORMED_HTTP: { code: 'BAD_REQUEST', status: 400, message: 'not a valid HTTP/1.1 request' },
  HEADERS_TOO_LARGE: {
    code: 'BAD_REQUEST',
    status: 431,
    message: 'request headers exceed 16 KB; send fewer or smaller headers',
  },
  MALFORMED_JSON: {
    code: 'PARSE_ERROR',
    status: 400,
    message: 'Malformed JSON body',
    // The REST body parser answers BAD_REQUEST (rest/routes.ts), as does a tRPC BAD_REQUEST caused
    // by a JSON SyntaxError (errors.ts describeTRPCError).
    also: { BAD_REQUEST: 400 },
  },

  // ---- UNAUTHORIZED (401): who is calling is not established
  MISSING_TOKEN: {
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'Authorization: Bearer <API key or JWT> is required',
  },
  INVALID_TOKEN: { code: 'UNAUTHORIZED', status: 401, message: 'token signature or format is invalid' },
  TOKEN_EXPIRED: { code: 'UNAUTHORIZED', status: 401, message: 'token expired' },
  TOKEN_NOT_YET_VALID: { code: 'UNAUTHORIZED', status: 401, message: 'token is not valid yet' },
  INVALID_CLAIMS: { code: 'UNAUTHORIZED', status: 401, message: 'token claims are invalid' },
  INVALID_CREDENTIALS: {
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'the key is not valid: unknown, revoked or expired',
  },
  UNKNOWN_TENANT: {
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'the token names a tenant that does not exist',
  },
  INVALID_WEBHOOK_TOKEN: {
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'webhook token is missing or invalid',
  },
  INVALID_WEBHOOK_SIGNATURE: { code: 'UNAUTHORIZED', status: 401, message: 'webhook signature check failed' },
  METRICS_TOKEN_REQUIRED: {
    code: 'UNAUTHORIZED',
    status: 401,
    message: 'GET /metrics needs `authorization: Bearer <METRICS_TOKEN>`',
  },

  // ---- FORBIDDEN (403): the caller is known and may not do this
  WRONG_ROLE: { code: 'FORBIDDEN', status: 403, message: 'this procedure needs another role' },
  TENANT_SUSPENDED: {
    code: 'FORBIDDEN',
    status: 403,
    message: 'this tenant is suspended',
    // An operator acting on a suspended tenant (admin.tenants.issueToken, admin.keys.create).
    also: { PRECONDITION_FAILED: 412 },
  },
  TEST_MODE_CREDENTIAL: {
    code: 'FORBIDDEN',
    status: 403,
    message: 'a test-mode credential can only create test keys',
  },
  TEST_MODE_ONLY: {
    code: 'FORBIDDEN',
    status: 403,
    message: 'resetTestBalance works in test mode only: call it with a tg_test_ key (or a test-mode token)',
  },

  // ---- NOT_FOUND (404): also for another tenant's object, never told apart
  JOB_NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'job not found' },
  TENANT_NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'tenant not found' },
  KEY_NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'key not found' },
  WEBHOOK_DELIVERY_NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'webhook delivery not found' },
  ROUTE_NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'no such route' },
  NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'no such procedure' },

  // ---- the transport: method, media type, size, time
  METHOD_NOT_SUPPORTED: { code: 'METHOD_NOT_SUPPORTED', status: 405, message: 'method not supported' },
  REQUEST_TIMEOUT: {
    code: 'TIMEOUT',
    status: 408,
    message: 'the request did not arrive in full in time; send it again',
  },
  BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', status: 413, message: 'request body too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    message: 'send the body as application/json',
  },

  // ---- CONFLICT (409)
  IDEMPOTENCY_CONFLICT: {
    code: 'CONFLICT',
    status: 409,
    message: 'this idempotencyKey was already used with a different request',
  },
  IDEMPOTENCY_IN_FLIGHT: {
    code: 'CONFLICT',
    status: 409,
    message: 'a request with this idempotencyKey is still being submitted; retry shortly',
  },
  REFERENCE_CONFLICT: {
    code: 'CONFLICT',
    status: 409,
    message: 'this tenant already has a top-up with this reference for another amount; nothing was written',
  },
  PRICE_VERSION_IN_EFFECT: {
    code: 'CONFLICT',
    status: 409,
    message: 'this price version is already in effect and cannot change; upsert a new priceVersion',
  },

  // ---- PAYMENT_REQUIRED (402)
  INSUFFICIENT_BALANCE: { code: 'PAYMENT_REQUIRED', status: 402, message: 'balance too low for this job' },

  // ---- PRECONDITION_FAILED (412): the object's state forbids it
  JOB_NOT_CANCELLABLE: { code: 'PRECONDITION_FAILED', status: 412, message: 'this job cannot be cancelled' },
  JOB_ALREADY_SETTLED: {
    code: 'PRECONDITION_FAILED',
    status: 412,
    message: 'this job is already settled; its money never moves twice',
  },
  JOB_IN_FLIGHT: {
    code: 'PRECONDITION_FAILED',
    status: 412,
    message: 'this job is still being submitted to Pixelbyte; nothing was written',
  },
  ADJUSTMENT_BELOW_ZERO: {
    code: 'PRECONDITION_FAILED',
    status: 412,
    message: 'the adjustment would take the available balance below zero; nothing was written',
  },
  TOKEN_SIGNING_UNAVAILABLE: {
    code: 'PRECONDITION_FAILED',
    status: 412,
    message: 'this gateway has no JWT_SECRET; tenant tokens come from the identity provider',
  },

  // ---- TOO_MANY_REQUESTS (429): passes by itself (details.retryAfterSeconds + Retry-After)
  CONCURRENT_JOBS_LIMIT: {
    code: 'TOO_MANY_REQUESTS',
    status: 429,
    message: 'too many jobs in progress for this tenant',
  },
  DAILY_SPEND_LIMIT: {
    code: 'TOO_MANY_REQUESTS',
    status: 429,
    message: 'daily spend limit reached for this tenant',
  },
  RATE_LIMIT: {
    code: 'TOO_MANY_REQUESTS',
    status: 429,
    message: 'requests-per-minute limit reached for this tenant',
  },
  UPSTREAM_RATE_LIMITED: {
    code: 'TOO_MANY_REQUESTS',
    status: 429,
    message: 'Pixelbyte is at capacity; retry later',
  },

  // ---- SERVICE_UNAVAILABLE (503): not the caller's fault; retry
  UPSTREAM_UNAVAILABLE: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'Pixelbyte is unavailable; you were not charged',
  },
  UPSTREAM_ACCOUNT_EMPTY: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: "the operator's Pixelbyte account cannot pay for jobs right now; you were not charged",
  },
  UPSTREAM_JOB_ID_UNKNOWN: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'the webhook does not name the Pixelbyte job and none is stored for this job yet; retry',
  },
  AUTH_UNAVAILABLE: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'credentials cannot be checked right now',
  },
  DATABASE_UNAVAILABLE: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'The database is temporarily unavailable; retry shortly',
  },
  CONSOLE_NOT_BUILT: {
    code: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'the operator console is not built: run `pnpm build` (`pnpm start` builds it too)',
  },

  // ---- INTERNAL_SERVER_ERROR (500): never with internals; the cause is logged with the request id
  INTERNAL: { code: 'INTERNAL_SERVER_ERROR', status: 500, message: 'Internal server error' },
} as const satisfies Record<string, ReasonSpec>;

/** Every reason the gateway answers with. */
export type Reason = keyof typeof REASONS;

/** The codes a reason may be answered with: its own, and those of its `also`. */
export type CodeOf<R extends Reason> =
  | (typeof REASONS)[R]['code']
  | ((typeof REASONS)[R] extends { readonly also: infer A } ? keyof A & ErrorCode : never);

/** True for a string that is one of the vocabulary's reasons. */
export function isReason(value: unknown): value is Reason {
  return typeof value === 'string' && Object.hasOwn(REASONS, value);
}
