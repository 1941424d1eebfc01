import {
  AuthError,
  ConflictError,
  InsufficientCreditsError,
  LimitExceededError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  ValidationError,
} from '../errors.ts';

/** Exit codes of the `tollgate` CLI (documented in the README): scripts branch on these. */
export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  insufficientCredits: 6,
  unavailable: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Bad command line (unknown flag, missing argument, unparsable amount). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly helpFor: string[] = [],
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError || err instanceof ValidationError) return EXIT.usage;
  if (err instanceof AuthError) return EXIT.auth;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof InsufficientCreditsError || err instanceof LimitExceededError) {
    return EXIT.insufficientCredits;
  }
  if (
    err instanceof RateLimitedError ||
    err instanceof ServiceUnavailableError ||
    err instanceof NetworkError
  ) {
    return EXIT.unavailable;
  }
  return EXIT.generic;
}
