import type { AppRouter } from '@tollgate/api/router';
import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { idempotencyKeyLink, newIdempotencyKey, type RetryEvent, tollgateRetryLink } from './links.ts';
import { type RetryOptions, resolveRetryOptions } from './retry.ts';
import { type WaitForJobOptions, waitForJob } from './wait.ts';

/** The plain typed tRPC client of the gateway. */
export type TollgateTRPCClient = TRPCClient<AppRouter>;

/**
 * The typed client of the gateway: every procedure (`client.jobs.submit.mutate(...)`,
 * `client.account.get.query()`…) plus `waitForJob`.
 */
export type TollgateClient = TollgateTRPCClient & {
  /** Polls the job until it reaches a terminal status; see `WaitForJobOptions`. */
  waitForJob(id: string, opts?: WaitForJobOptions): Promise<Job>;
};
/** Inputs of every procedure, e.g. `RouterInputs['jobs']['submit']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Outputs of every procedure, e.g. `RouterOutputs['jobs']['get']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** A job as the gateway returns it. */
export type Job = RouterOutputs['jobs']['get'];
export type JobStatus = Job['status'];

/** The `fetch` the client may be given (e.g. one bound to a custom agent or proxy). */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export type TollgateClientOptions = {
  /** The gateway's base URL (e.g. `http://localhost:8787`); `/trpc` is appended unless present. */
  url: string;
  /** A JWT used for every call. */
  token?: string | undefined;
  /** Called before every request (refresh tokens here); takes precedence over `token`. */
  getToken?: (() => string | null | undefined | Promise<string | null | undefined>) | undefined;
  /** Custom fetch (agents, proxies, instrumentation). Defaults to the global fetch. */
  fetch?: FetchLike | undefined;
  /** Retry policy; `false` disables retries. Defaults: 4 attempts, 200 ms base, 5 s cap, Retry-After ≤ 30 s. */
  retry?: RetryOptions | false | undefined;
  /** Called before each retry (logging, metrics). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Extra headers on every request (e.g. `x-request-id` for tracing). */
  headers?: Record<string, string> | undefined;
  /** Batch calls made in the same tick into one HTTP request (default true). */
  batch?: boolean | undefined;
  /** Generator of idempotency keys for `jobs.submit` calls that do not pass one. */
  idempotencyKey?: (() => string) | undefined;
};

/** `url` → the tRPC endpoint URL. */
export function trpcEndpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/trpc') ? trimmed : `${trimmed}/trpc`;
}

/**
 * Creates a typed tollgate client. Types come from the gateway's router (`import type` only: no
 * server code reaches your bundle). Every call maps failures to typed errors (`InsufficientCreditsError`,
 * `RateLimitedError`…); reads and keyed submits are retried with backoff on network errors, 429 and 503.
 *
 * @example
 * const tollgate = createTollgateClient({ url: 'https://tollgate.example.com', token: process.env.TOLLGATE_TOKEN });
 * const job = await tollgate.jobs.submit.mutate({ model: 'google/nano-banana', input: { prompt: 'a fox' } });
 */
export function createTollgateClient(opts: TollgateClientOptions): TollgateClient {
  if (typeof opts.url !== 'string' || !/^https?:\/\//.test(opts.url)) {
    throw new TypeError(`createTollgateClient: url must be an http(s) URL, got ${JSON.stringify(opts.url)}`);
  }
  const { getToken, token } = opts;
  const headers = async (): Promise<Record<string, string>> => {
    const jwt = getToken ? await getToken() : token;
    return { ...opts.headers, ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) };
  };
  const fetchImpl = opts.fetch;
  const common = {
    url: trpcEndpoint(opts.url),
    headers,
    ...(fetchImpl === undefined
      ? {}
      : {
          // tRPC's links always pass a URL string; RequestInitEsque is a subset of RequestInit.
          fetch: (input: Request | URL | string, init?: unknown) =>
            fetchImpl(
              typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
              init as RequestInit | undefined,
            ),
        }),
  };
  const terminal =
    opts.batch === false
      ? httpLink<AppRouter>(common)
      : // The gateway accepts batches of up to 50 calls; long GET URLs are split.
        httpBatchLink<AppRouter>({ ...common, maxItems: 50, maxURLLength: 8_000 });
  const retry = opts.retry === false ? null : resolveRetryOptions(opts.retry);
  const trpc = createTRPCClient<AppRouter>({
    links: [
      idempotencyKeyLink(opts.idempotencyKey ?? newIdempotencyKey),
      tollgateRetryLink(retry, opts.onRetry),
      terminal,
    ],
  });
  const wait = (id: string, o?: WaitForJobOptions) => waitForJob(trpc, id, o);
  // tRPC's client is a Proxy where every property is a procedure path; one extra key is served here.
  return new Proxy(trpc, {
    get: (target, prop) => (prop === 'waitForJob' ? wait : Reflect.get(target, prop)),
  }) as TollgateClient;
}
