import type { Reason } from '@tollgate/api/reasons';
import type { AppRouter } from '@tollgate/api/router';
import { TRPCClientError } from '@trpc/client';
import type { inferRouterError } from '@trpc/server';

/**
 * What the gateway puts in `error.data`: the type of its tRPC error formatter's answer (code,
 * httpStatus, path, and the reason, requestId and details it adds), not a copy of it.
 */
export type GatewayErrorData = inferRouterError<AppRouter>['data'];

export type { Reason };

/**
 * A `TollgateError`'s `reason`: one of the gateway's (the closed vocabulary of `@tollgate/api/reasons`,
 * documented in packages/api/README.md "Errors"), or the client's own when the answer is not the
 * gateway's: NETWORK_ERROR (none came back), or `HTTP_<status>` (a proxy's 502, say).
 */
export type TollgateReason = Reason | 'NETWORK_ERROR' | `HTTP_${number}`;

type BaseInit = {
  message: string;
  /** tRPC code (e.g. PAYMENT_REQUIRED), or NETWORK_ERROR when no answer came back. */
  code: string;
  /** Stable machine-readable cause from the gateway (e.g. INSUFFICIENT_BALANCE). */
  reason: TollgateReason;
  requestId: string | undefined;
  httpStatus: number | undefined;
  details: Record<string, unknown> | undefined;
  source: TRPCClientError<AppRouter>;
};

/**
 * Base of every error the tollgate client throws. It extends TRPCClientError, so code that already
 * catches tRPC errors keeps working; `reason` and `requestId` are what to branch on and to quote to
 * support. `retryable` says whether the same call may succeed later unchanged.
 */
export class TollgateError extends TRPCClientError<AppRouter> {
  readonly code: string;
  readonly reason: TollgateReason;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryable: boolean = false;

  constructor(init: BaseInit) {
    super(init.message, {
      ...(init.source.cause === undefined ? {} : { cause: init.source.cause }),
      ...(init.source.meta === undefined ? {} : { meta: init.source.meta }),
      ...(init.source.shape == null ? {} : { result: { error: init.source.shape } }),
    });
    // TRPCClientError's constructor pins its own prototype; restore the subclass's.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = new.target.name;
    this.code = init.code;
    this.reason = init.reason;
    this.requestId = init.requestId;
    this.httpStatus = init.httpStatus;
    this.details = init.details;
  }
}

/** Amounts in error details are safe JSON integers; inside the client they are bigint micro-cents. */
function amount(details: Record<string, unknown> | undefined, key: string): bigint | undefined {
  const v = details?.[key];
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return undefined;
}

function seconds(details: Record<string, unknown> | undefined): number | undefined {
  const v = details?.retryAfterSeconds;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * PAYMENT_REQUIRED: the tenant's prepaid balance does not cover the job (nothing was charged); or
 * PRECONDITION_FAILED / ADJUSTMENT_BELOW_ZERO: an admin debit larger than the available balance
 * (nothing was written). Either way: not enough money, with both amounts.
 */
export class InsufficientCreditsError extends TollgateError {
  /** What the job costs (the quote), in micro-cents. */
  readonly requiredMicroCents: bigint | undefined;
  /** What the tenant had available when refused, in micro-cents. */
  readonly availableMicroCents: bigint | undefined;
  constructor(init: BaseInit) {
    super(init);
    this.requiredMicroCents = amount(init.details, 'requiredMicroCents');
    this.availableMicroCents = amount(init.details, 'availableMicroCents');
  }
}

/** TOO_MANY_REQUESTS that passes by itself: requests-per-minute or upstream 429. Retry after `retryAfterSeconds`. */
export class RateLimitedError extends TollgateError {
  readonly retryAfterSeconds: number | undefined;
  override readonly retryable = true;
  constructor(init: BaseInit) {
    super(init);
    this.retryAfterSeconds = seconds(init.details) ?? retryAfterHeaderSeconds(init.source);
  }
}

/**
 * A tenant limit was reached: concurrent jobs, daily spend (TOO_MANY_REQUESTS), or the call's own
 * `maxCostMicroCents` (MAX_COST_EXCEEDED). `retryAfterSeconds` is set when the limit frees up by itself.
 */
export class LimitExceededError extends TollgateError {
  /** The limit's value (a count, or micro-cents for spend limits), when the gateway says it. */
  readonly limit: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(init: BaseInit) {
    super(init);
    const limit = init.details?.limit ?? init.details?.maxCostMicroCents;
    this.limit = typeof limit === 'number' ? limit : undefined;
    this.retryAfterSeconds = seconds(init.details) ?? retryAfterHeaderSeconds(init.source);
  }
}

export type ValidationIssue = { path: string; message: string; code?: string | undefined };

/** BAD_REQUEST: invalid input, unknown model or unpriced value. `issues` lists what to fix. */
export class ValidationError extends TollgateError {
  readonly issues: ValidationIssue[];
  constructor(init: BaseInit) {
    super(init);
    const raw = init.details?.issues;
    this.issues = Array.isArray(raw) ? raw.map(toIssue) : [];
  }
}

function toIssue(raw: unknown): ValidationIssue {
  if (raw !== null && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    const path = Array.isArray(r.path) ? r.path.map(String).join('.') : String(r.path ?? '');
    return {
      path,
      message: String(r.message ?? ''),
      ...(typeof r.code === 'string' ? { code: r.code } : {}),
    };
  }
  return { path: '', message: String(raw) };
}

/** UNAUTHORIZED (missing, invalid or expired token) or FORBIDDEN (wrong role, suspended tenant). */
export class AuthError extends TollgateError {}

/** NOT_FOUND: unknown id — or another tenant's, which is never distinguished. */
export class NotFoundError extends TollgateError {}

/**
 * CONFLICT: an idempotency key reused with a different request (IDEMPOTENCY_CONFLICT, a bug in the
 * caller), or the same request still in flight (IDEMPOTENCY_IN_FLIGHT, retryable); also a state that
 * forbids the action (PRECONDITION_FAILED, e.g. JOB_NOT_CANCELLABLE, JOB_ALREADY_SETTLED).
 */
export class ConflictError extends TollgateError {
  override readonly retryable: boolean;
  constructor(init: BaseInit) {
    super(init);
    this.retryable = init.reason === 'IDEMPOTENCY_IN_FLIGHT';
  }
}

/** SERVICE_UNAVAILABLE (upstream down or the operator's account empty), or a 502/504 on the way. */
export class ServiceUnavailableError extends TollgateError {
  override readonly retryable = true;
  readonly retryAfterSeconds: number | undefined;
  constructor(init: BaseInit) {
    super(init);
    this.retryAfterSeconds = seconds(init.details) ?? retryAfterHeaderSeconds(init.source);
  }
}

/** No answer came back (connection refused or dropped, DNS, TLS). The request may or may not have run. */
export class NetworkError extends TollgateError {
  override readonly retryable = true;
}

/** The response object tRPC's HTTP links keep in `meta.response`, when there was one. */
export function responseOf(
  err: TRPCClientError<AppRouter>,
): { status: number; headers: Headers } | undefined {
  const res = err.meta?.response;
  if (res !== null && typeof res === 'object' && 'status' in res && 'headers' in res) {
    const { status, headers } = res as { status: unknown; headers: unknown };
    if (typeof status === 'number' && headers instanceof Headers) return { status, headers };
  }
  return undefined;
}

/** `Retry-After` in seconds (delta form; an HTTP date is converted), or undefined. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

function retryAfterHeaderSeconds(err: TRPCClientError<AppRouter>): number | undefined {
  return parseRetryAfter(responseOf(err)?.headers.get('retry-after'));
}

function dataOf(err: TRPCClientError<AppRouter>): Partial<GatewayErrorData> | undefined {
  const data: unknown = err.data;
  return data !== null && typeof data === 'object' ? (data as Partial<GatewayErrorData>) : undefined;
}

/** True when the call was aborted through its AbortSignal. */
export function isAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError') return true;
  return err.cause instanceof Error && err.cause.name === 'AbortError';
}

const LIMIT_REASONS: ReadonlySet<TollgateReason> = new Set<Reason>([
  'CONCURRENT_JOBS_LIMIT',
  'DAILY_SPEND_LIMIT',
  'MAX_COST_EXCEEDED',
]);

/**
 * Turns whatever a tRPC call threw into the matching tollgate error class. Errors that are already
 * tollgate errors, and anything that is not a TRPCClientError (a bug in calling code), pass through.
 */
export function toTollgateError(err: unknown): unknown {
  if (err instanceof TollgateError || !(err instanceof TRPCClientError)) return err;
  const source = err as TRPCClientError<AppRouter>;
  const data = dataOf(source);
  const res = responseOf(source);
  const details = data?.details !== null && typeof data?.details === 'object' ? data.details : undefined;
  const base = (code: string, reason: TollgateReason): BaseInit => ({
    message: source.message,
    code,
    reason,
    requestId: data?.requestId ?? res?.headers.get('x-request-id') ?? undefined,
    httpStatus: data?.httpStatus ?? res?.status,
    details,
    source,
  });

  if (data?.code === undefined) {
    // No tRPC error body: either nothing came back, or something between us and the gateway answered.
    const status = res?.status;
    // The caller aborted: not a failure of the gateway, nothing to map or retry.
    if (status === undefined && isAbort(source)) return source;
    if (status === undefined) {
      const cause = source.cause;
      const why = cause?.message && cause.message !== source.message ? ` (${cause.message})` : '';
      return new NetworkError({
        ...base('NETWORK_ERROR', 'NETWORK_ERROR'),
        message: `could not reach the tollgate gateway: ${source.message}${why}`,
      });
    }
    if (status === 429) return new RateLimitedError(base('TOO_MANY_REQUESTS', 'RATE_LIMIT'));
    if (status === 502 || status === 503 || status === 504) {
      return new ServiceUnavailableError(base('SERVICE_UNAVAILABLE', `HTTP_${status}`));
    }
    if (status === 401 || status === 403) return new AuthError(base('UNAUTHORIZED', `HTTP_${status}`));
    if (status === 404) return new NotFoundError(base('NOT_FOUND', 'HTTP_404'));
    return new TollgateError(base('UNKNOWN', `HTTP_${status}`));
  }

  const code = data.code;
  // Every answer of the gateway has a reason; a tRPC error without one came from something else.
  const reason: TollgateReason = data.reason ?? `HTTP_${data.httpStatus ?? res?.status ?? 0}`;
  const init = base(code, reason);
  switch (code) {
    case 'PAYMENT_REQUIRED':
      return new InsufficientCreditsError(init);
    case 'TOO_MANY_REQUESTS':
      return LIMIT_REASONS.has(reason) ? new LimitExceededError(init) : new RateLimitedError(init);
    case 'BAD_REQUEST':
    case 'PARSE_ERROR':
    case 'PAYLOAD_TOO_LARGE':
      return LIMIT_REASONS.has(reason) ? new LimitExceededError(init) : new ValidationError(init);
    case 'UNAUTHORIZED':
    case 'FORBIDDEN':
      return new AuthError(init);
    case 'NOT_FOUND':
      return new NotFoundError(init);
    case 'CONFLICT':
      return new ConflictError(init);
    case 'PRECONDITION_FAILED':
      return amount(details, 'availableMicroCents') !== undefined
        ? new InsufficientCreditsError(init)
        : new ConflictError(init);
    case 'SERVICE_UNAVAILABLE':
    case 'GATEWAY_TIMEOUT':
    case 'BAD_GATEWAY':
      return new ServiceUnavailableError(init);
    default:
      return new TollgateError(init);
  }
}
