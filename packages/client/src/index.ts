// @tollgate/client — the typed client of the tollgate gateway for tenant apps, admins and finance.
// Router types come from @tollgate/api as types only: nothing of the server reaches a bundle.
export {
  createTollgateClient,
  type FetchLike,
  type Job,
  type JobStatus,
  type RouterInputs,
  type RouterOutputs,
  type TollgateClient,
  type TollgateClientOptions,
  type TollgateTRPCClient,
  trpcEndpoint,
} from './client.ts';
export {
  AuthError,
  ConflictError,
  type GatewayErrorData,
  InsufficientCreditsError,
  isAbort,
  LimitExceededError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  type Reason,
  ServiceUnavailableError,
  TollgateError,
  type TollgateReason,
  toTollgateError,
  ValidationError,
  type ValidationIssue,
} from './errors.ts';
export { AUTO_IDEMPOTENCY_PATHS, newIdempotencyKey, type RetryEvent } from './links.ts';
export { formatUsd, fromSafeNumber, MICRO_CENTS_PER_USD, parseUsd, toSafeNumber } from './money.ts';
export { DEFAULT_RETRY, type RetryOptions } from './retry.ts';
export { isTerminal, TERMINAL_STATUSES, type WaitForJobOptions, waitForJob } from './wait.ts';
