import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { Logger } from './logger.ts';
import { type CodeOf, type ErrorCode, isReason, REASONS, type Reason } from './reasons.ts';

export type { ErrorCode, Reason } from './reasons.ts';

export type ErrorDetails = Record<string, unknown>;

/**
 * The one domain error. `reason` is the stable, machine-readable cause clients branch on (e.g.
 * INSUFFICIENT_BALANCE), one of the closed vocabulary in reasons.ts; its tRPC code (which decides the
 * HTTP status) and default message come from that table. A site passes `message` when it knows more
 * (which job, which field), and `code` only for a reason the table lists under a second code (`also`).
 * `details` carries safe, JSON-serialisable context (amounts as numbers, never secrets).
 */
export class DomainError<R extends Reason = Reason> extends Error {
  readonly code: ErrorCode;
  readonly reason: R;
  readonly details: ErrorDetails | undefined;
  constructor(opts: {
    reason: R;
    code?: CodeOf<R>;
    message?: string;
    details?: ErrorDetails;
    cause?: unknown;
  }) {
    const spec = REASONS[opts.reason];
    super(opts.message ?? spec.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DomainError';
    this.code = opts.code ?? spec.code;
    this.reason = opts.reason;
    this.details = opts.details;
  }
}

/**
 * A refusal answered outside tRPC (routes of the Hono app, the Pixelbyte webhook, Node's HTTP parser):
 * the gateway's JSON error body with the reason's code, and its status, from the one table.
 */
export function reasonBody(
  reason: Reason,
  requestId: string,
  message: string = REASONS[reason].message,
): { status: number; body: ErrorBody } {
  const { code, status } = REASONS[reason];
  return { status, body: { code, reason, message, requestId } };
}

/** How long a client is told to wait when the database is unreachable (`Retry-After`). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/** postgres.js / Node socket error codes that mean "no usable connection", not "bad query". */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * Postgres SQLSTATEs of an unavailable server: 57P01 admin shutdown, 57P02 crash shutdown,
 * 57P03 cannot connect now (starting/stopping), 53300 too many connections, class 08 connection
 * exceptions. Query errors (constraint violations, serialization failures…) are NOT in this list:
 * they stay whatever they were.
 */
const UNAVAILABLE_SQLSTATE = /^(57P01|57P02|57P03|53300|08[0-9A-Z]{3})$/;

/**
 * True when `err` (or something in its `cause` chain, or an AggregateError's `errors`, as Node's
 * happy-eyeballs connect and Drizzle's query wrapper produce) is a connection-level Postgres failure.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (depth > 8 || typeof err !== 'object' || err === null) return false;
  const code = 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
    return true;
  }
  if (
    'errors' in err &&
    Array.isArray(err.errors) &&
    err.errors.some((e) => isDatabaseUnavailable(e, depth + 1))
  ) {
    return true;
  }
  return 'cause' in err && isDatabaseUnavailable(err.cause, depth + 1);
}

/**
 * The tenant-facing error for an unreachable database: 503 + Retry-After, a fixed message (the
 * driver's message names hosts and ports — internals), the original kept as `cause` for the log.
 * Retrying is safe: a submit retried with the same idempotency key replays, never double-charges.
 */
export function databaseUnavailableError(cause: unknown): DomainError {
  return new DomainError({
    reason: 'DATABASE_UNAVAILABLE',
    details: { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
    cause,
  });
}

/**
 * The one error mapping, domain → tRPC. The DomainError stays reachable as `cause` for the error
 * formatter. An unexpected error (or a tRPC 500 wrapping one) that is a connection-level database
 * failure becomes SERVICE_UNAVAILABLE / DATABASE_UNAVAILABLE; anything else unknown is a 500.
 */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.code !== 'INTERNAL_SERVER_ERROR') return err;
    if (err.cause instanceof DomainError) return toTRPCError(err.cause);
    return isDatabaseUnavailable(err.cause) ? toTRPCError(databaseUnavailableError(err.cause)) : err;
  }
  if (err instanceof DomainError) return new TRPCError({ code: err.code, message: err.message, cause: err });
  if (isDatabaseUnavailable(err)) return toTRPCError(databaseUnavailableError(err));
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause: err });
}

export type ErrorBody = {
  /** The reason's code (reasons.ts), or the code tRPC gave an error that did not start as a DomainError. */
  code: string;
  reason: Reason;
  message: string;
  requestId: string;
  details?: ErrorDetails;
};

type Issue = {
  path: PropertyKey[] | readonly (PropertyKey | { key: PropertyKey })[];
  message: string;
  code?: string;
  params?: { reason?: unknown };
};

function issuesOf(cause: unknown): Issue[] | null {
  if (typeof cause === 'object' && cause !== null && 'issues' in cause && Array.isArray(cause.issues)) {
    return cause.issues as Issue[];
  }
  return null;
}

function isSyntaxError(cause: unknown): boolean {
  return typeof cause === 'object' && cause !== null && 'name' in cause && cause.name === 'SyntaxError';
}

function pathOf(issue: Issue): string {
  return issue.path.map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p))).join('.');
}

/**
 * The reasons of errors that did not start as a DomainError: the codes tRPC's fetch adapter throws
 * (tollgate's own code throws DomainErrors). Were another code to arrive here, it is answered as
 * INTERNAL (with its own code), never with a reason outside the vocabulary.
 */
const DEFAULT_REASON: Partial<Record<TRPCError['code'], Reason>> = {
  PARSE_ERROR: 'MALFORMED_JSON',
  BAD_REQUEST: 'INVALID_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_SUPPORTED',
  PAYLOAD_TOO_LARGE: 'BODY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TOO_MANY_REQUESTS: 'RATE_LIMIT',
  INTERNAL_SERVER_ERROR: 'INTERNAL',
};

/**
 * What a client may see of an error: TRPCError → { message, reason, details }. Unknown causes of
 * INTERNAL_SERVER_ERROR are replaced by a generic message (internals never leak).
 */
export function describeTRPCError(error: TRPCError): {
  message: string;
  reason: Reason;
  details?: ErrorDetails;
} {
  const cause = error.cause;
  if (cause instanceof DomainError) {
    return cause.details === undefined
      ? { message: cause.message, reason: cause.reason }
      : { message: cause.message, reason: cause.reason, details: cause.details };
  }
  // By name, not instanceof: the SyntaxError comes from JSON.parse, possibly in another realm.
  if ((error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR') && isSyntaxError(cause)) {
    return { message: REASONS.MALFORMED_JSON.message, reason: 'MALFORMED_JSON' };
  }
  const issues = issuesOf(cause);
  if (error.code === 'BAD_REQUEST' && issues) {
    return {
      message: `Invalid input: ${issues.map((i) => `${pathOf(i) || '(root)'}: ${i.message}`).join('; ')}`,
      // A schema may name a more precise stable reason (e.g. AMOUNT_OUT_OF_RANGE) in its issue params.
      reason: issues.map((i) => i.params?.reason).find(isReason) ?? 'INVALID_INPUT',
      details: { issues: issues.map((i) => ({ path: pathOf(i), message: i.message, code: i.code })) },
    };
  }
  if (error.code === 'INTERNAL_SERVER_ERROR')
    return { message: REASONS.INTERNAL.message, reason: 'INTERNAL' };
  return { message: error.message, reason: DEFAULT_REASON[error.code] ?? 'INTERNAL' };
}

/** True when an error is a bug/infra problem that must be logged with its stack. */
export function isUnexpected(error: TRPCError): boolean {
  return error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof DomainError);
}

/**
 * The HTTP renderer used by `app.onError` (non-tRPC routes): `{ code, reason, message, requestId }`.
 * Unknown errors are logged with the request id and answered with a generic 500.
 */
export function renderHttpError(
  err: unknown,
  requestId: string,
  log: Logger,
): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const trpcError = toTRPCError(err);
  if (isUnexpected(trpcError)) log.error({ err, requestId }, 'unhandled error');
  else if (isDatabaseUnavailable(err)) log.warn({ err, requestId }, 'database unavailable');
  const { message, reason, details } = describeTRPCError(trpcError);
  const status = getHTTPStatusCodeFromError(trpcError);
  const body: ErrorBody = { code: trpcError.code, reason, message, requestId };
  if (details !== undefined) body.details = details;
  const headers: Record<string, string> = {};
  const retryAfter = details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(Math.max(0, Math.ceil(retryAfter)));
  return { status, body, headers };
}
