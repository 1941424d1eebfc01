import type { ErrorBody, ErrorDetails } from '../errors.ts';
import type { Reason } from '../reasons.ts';

/** RFC 9457 media type of every REST error. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * A REST error (RFC 9457 problem details). `code`, `reason`, `detail` (the message) and `details`
 * are exactly what tRPC reports for the same failure (`error.data.code`, `.reason`, `.message`,
 * `.details`): both are rendered from the one DomainError → tRPC mapping (errors.ts).
 */
export type Problem = {
  /** `urn:tollgate:problem:<reason>`: one problem type per stable reason. */
  type: string;
  /** The reason in words (the same for every occurrence of the type). */
  title: string;
  status: number;
  /** What happened this time (the tRPC error's message). */
  detail: string;
  /** tRPC code (BAD_REQUEST, PAYMENT_REQUIRED, …). */
  code: string;
  /** Stable, machine-readable cause to branch on (INSUFFICIENT_BALANCE, JOB_NOT_FOUND, …; reasons.ts). */
  reason: Reason;
  requestId: string;
  /** The tRPC error's details, e.g. `requiredMicroCents` and `availableMicroCents` on a 402. */
  details?: ErrorDetails;
};

/** Problem type URIs: not dereferenceable, stable (they never change for a reason). */
export function problemType(reason: Reason): string {
  return `urn:tollgate:problem:${reason}`;
}

/** INSUFFICIENT_BALANCE → "Insufficient balance". */
export function problemTitle(reason: Reason): string {
  const words = reason.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Retry-After for a 429 or 503 whose error names no wait (an empty operator account upstream, the
 * JWKS endpoint down, a cancellation upstream did not confirm): RFC 9457 clients back off by it, and
 * the contract promises the header on both statuses.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The gateway's JSON error body (errors.ts `renderHttpError`) as an RFC 9457 problem. */
export function toProblem(body: ErrorBody, status: number): Problem {
  const problem: Problem = {
    type: problemType(body.reason),
    title: problemTitle(body.reason),
    status,
    detail: body.message,
    code: body.code,
    reason: body.reason,
    requestId: body.requestId,
  };
  if (body.details !== undefined) problem.details = body.details;
  return problem;
}

export function problemResponse(
  body: ErrorBody,
  status: number,
  headers: Record<string, string> = {},
): Response {
  const all: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, ...headers };
  if ((status === 429 || status === 503) && all['retry-after'] === undefined) {
    all['retry-after'] = String(DEFAULT_RETRY_AFTER_SECONDS);
  }
  return new Response(JSON.stringify(toProblem(body, status)), { status, headers: all });
}
