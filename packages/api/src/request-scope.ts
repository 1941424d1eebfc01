import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The request id of the HTTP request being served, for code that runs without a tRPC context: an
 * error tRPC raises before the context exists (batch too large, unsupported content type, method)
 * is still formatted with the id the response's `x-request-id` carries. Set by app.ts `requestId`.
 */
export const requestIdScope = new AsyncLocalStorage<string>();

/** A new request id, `req_` and 32 hex digits (randomUUID draws from a cached entropy pool: a getrandom
 * call per request was 3% of a jobs.get). */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}
