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
  /** Stopped waiting (Ctrl-C or --timeout) while the job goes on: it is charged and still running. */
  stillRunning: 8,
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

/**
 * `jobs wait` / `submit --wait` stopped by Ctrl-C or --timeout: not a failure of the job, which goes
 * on (and was charged); the message says how to pick it up again.
 */
export class StillRunningError extends Error {
  constructor(
    readonly jobId: string,
    readonly status: string,
    readonly costMicroCents: number | undefined,
    readonly why: 'interrupted' | 'timeout',
  ) {
    super(
      `stopped waiting (${why === 'interrupted' ? 'interrupted' : '--timeout reached'}); job ${jobId} is still ${status}`,
    );
    this.name = 'StillRunningError';
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof StillRunningError) return EXIT.stillRunning;
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
