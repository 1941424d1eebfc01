import { DEFAULT_MAX_DURATION_SECONDS } from '@tollgate/db/ledger';
import { z } from 'zod';

/**
 * The gateway's configuration: the ONLY module that reads `process.env`. Everything else receives
 * these values as arguments (see `AppConfig`). `loadEnv` validates once at boot and throws one
 * readable multi-line error listing every bad variable; `serve.ts` prints it and exits 1.
 */

const DURATION_RE = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "15m", "900s", "1500ms", "2h" or a bare number of seconds into milliseconds. */
export function parseDurationMs(value: string): number | null {
  const m = DURATION_RE.exec(value.trim());
  if (!m?.[1]) return null;
  const unit = m[2] ?? 's';
  const ms = Number(m[1]) * (UNIT_MS[unit] ?? 1000);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** Formats milliseconds the way the env accepts them back: "32s" when whole seconds, else "32500ms". */
function formatDurationMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * After the upstream submit returns (at most PIXELBYTE_SUBMIT_TIMEOUT_MS), the gateway still records
 * the answer (capture retried with up to 750 ms of backoff): a job is not stale before both are over.
 */
export const RECORD_ANSWER_MARGIN_MS = 2_000;

/** The largest PIXELBYTE_SUBMIT_TIMEOUT_MS accepted (10 min). */
const MAX_SUBMIT_TIMEOUT_MS = 600_000;

/**
 * The longest a job can be `submitting` in a live request under ANY valid configuration: the largest
 * submit deadline plus the time to record the answer. A `submitting` job older than this was
 * orphaned (its gateway died); younger, it may still be in flight (admin.jobs.resolve refuses it).
 */
export const MAX_SUBMIT_IN_FLIGHT_MS = MAX_SUBMIT_TIMEOUT_MS + RECORD_ANSWER_MARGIN_MS;

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like "15m", "900s" or "500ms", got "${v}"`,
        });
        return z.NEVER;
      }
      return ms;
    });

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const optionalUrl = z.preprocess(
  emptyAsUndefined,
  z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
);
const int = (fallback: number, min: number, max: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));
const bool = (fallback: boolean) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  );

const envSchema = z.object({
  NODE_ENV: z.preprocess(
    emptyAsUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().startsWith('postgres').optional()),
  /** Where the finance reports read (a read replica of DATABASE_URL); unset = DATABASE_URL. */
  REPORTS_DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().startsWith('postgres').optional()),
  /** Where `pnpm start` keeps the embedded Postgres when DATABASE_URL is unset. */
  DATA_DIR: optionalString,
  PORT: int(8787, 0, 65535),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  PIXELBYTE_BASE_URL: z.preprocess(emptyAsUndefined, z.url().default('https://api.muvi.video')),
  PIXELBYTE_API_KEY: optionalString,
  PIXELBYTE_TIMEOUT_MS: int(30_000, 100, 600_000),
  PIXELBYTE_SUBMIT_TIMEOUT_MS: int(30_000, 100, MAX_SUBMIT_TIMEOUT_MS),
  PUBLIC_BASE_URL: optionalUrl,
  PIXELBYTE_WEBHOOK_SECRET: optionalString,
  /** HMAC key for the per-job webhook URL token; derived from JWT_SECRET when unset. */
  WEBHOOK_TOKEN_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
  JWT_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(32, 'JWT_SECRET must be at least 32 characters (HS256 key strength)').optional(),
  ),
  JWT_JWKS_URL: optionalUrl,
  /** How long a fetched JWKS is trusted: the window in which a key removed at the IdP still verifies. */
  JWT_JWKS_CACHE_MAX_AGE: duration('60s'),
  JWT_ISSUER: z.preprocess(emptyAsUndefined, z.string().default('tollgate')),
  JWT_AUDIENCE: z.preprocess(emptyAsUndefined, z.string().default('tollgate')),
  UNKNOWN_JOB_GRACE: duration('15m'),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  BODY_LIMIT_BYTES: int(256 * 1024, 1024, 64 * 1024 * 1024),
  /**
   * Bounds on a request's arrival (Node's `requestTimeout` / `headersTimeout`, 300 s / 60 s by
   * default): a client that stalls its headers or body holds a connection and a parser only this long,
   * then gets 408. Not a bound on the answer: a long submit or a report download is unaffected.
   */
  HTTP_REQUEST_TIMEOUT: duration('30s'),
  HTTP_HEADERS_TIMEOUT: duration('10s'),
  /** Bearer token `/metrics` requires (Prometheus `authorization` in the scrape config). */
  METRICS_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  ),
  /** Outside dev mode, serve `/metrics` without METRICS_TOKEN only when this says so on purpose. */
  METRICS_PUBLIC: bool(false),
  /**
   * How often the poller claims what is due. Short, so the work arrives as a trickle: jobs fall due
   * continuously (5 s after acceptance, then with backoff), and a 2 s interval let ~2 s of them pile
   * up and be read and completed in one burst (100 upstream reads, then one completion group locking
   * up to 100 tenants' balance rows) that the submits arriving meanwhile queued behind: at 200
   * submits/s the added p99 went from 32–60 ms to 26–37 ms with 100 ms (bench/HISTORY.md, "Paced
   * poller"). An idle pass is one index probe that finds nothing.
   */
  POLL_INTERVAL: duration('100ms'),
  /**
   * Upstream reads in flight per poller pass, and jobs claimed per pass. Without webhooks the poller
   * completes every job: at 4 / 25 it completed ~330 jobs/s while 500/s were accepted (measured with
   * `pnpm bench`), so completions fell further behind every second; 32 / 100 keeps up. A job's
   * ledger update does not hold a read lane (workers/poller.ts), so the concurrency bounds upstream
   * reads only; the updates of a pass (at most a batch) go to the ledger's group commit together.
   */
  POLL_CONCURRENCY: int(32, 1, 64),
  POLL_BATCH_SIZE: int(100, 1, 1000),
  WORKERS_ENABLED: bool(true),
  DB_POOL_MAX: int(10, 1, 200),
  /**
   * Give up opening a Postgres connection after this long (postgres.js defaults to 30 s): while the
   * database is down, requests fail fast with 503 DATABASE_UNAVAILABLE instead of hanging.
   */
  DB_CONNECT_TIMEOUT: duration('5s'),
  SHUTDOWN_TIMEOUT: duration('15s'),
  /**
   * A job still `submitting` this long after creation (the gateway died mid-submit) is turned `unknown`.
   * Must be ≥ PIXELBYTE_SUBMIT_TIMEOUT_MS + 2s (checked below): a live submit is never stale.
   */
  STALE_SUBMITTING_AFTER: duration('10m'),
  /** Accept http:// tenant webhook URLs (dev, tests). Refused when NODE_ENV=production. */
  TENANT_WEBHOOK_ALLOW_HTTP: bool(false),
  /**
   * Deliver tenant webhooks to loopback / private / link-local / … addresses (dev, tests: local
   * receivers). Off, such URLs are refused at submit and at delivery (SSRF). Refused in production.
   */
  TENANT_WEBHOOK_ALLOW_PRIVATE: bool(false),
  TENANT_WEBHOOK_TIMEOUT: duration('10s'),
  /** Delay before the 2nd delivery attempt; each later retry waits 4× longer (1, 4, 16, 64 s). */
  TENANT_WEBHOOK_RETRY_BASE: duration('1s'),
  TENANT_WEBHOOK_MAX_ATTEMPTS: int(5, 1, 20),
  TENANT_WEBHOOK_INTERVAL: duration('1s'),
  /**
   * After admin.tenants.rotateWebhookSecret, deliveries carry a signature with the old secret beside
   * the new one for this long (Standard Webhooks rotation), so receivers can switch without a gap.
   */
  TENANT_WEBHOOK_SECRET_GRACE: duration('24h'),
  /** At most one `limit.reached` webhook per tenant and limit in each window this long. */
  TENANT_WEBHOOK_LIMIT_REACHED_INTERVAL: duration('15m'),
  /** Reliability tests only (src/failpoints.ts): a step at which this process SIGKILLs itself. */
  TOLLGATE_FAILPOINT: optionalString,
});

type Env = z.output<typeof envSchema>;

/**
 * What no single variable shows: combinations the gateway must not run with. Checked only once every
 * variable is valid, so each message can print the values it compares.
 */
function combinationProblems(e: Env): string[] {
  const problems: string[] = [];
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET && !e.JWT_JWKS_URL) {
    problems.push(
      'JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production (no dev secrets in production)',
    );
  }
  if (e.PUBLIC_BASE_URL && !e.WEBHOOK_TOKEN_SECRET && !e.JWT_SECRET && e.NODE_ENV === 'production') {
    problems.push(
      'WEBHOOK_TOKEN_SECRET (or JWT_SECRET) is required to sign webhook URLs when PUBLIC_BASE_URL is set',
    );
  }
  if (e.NODE_ENV === 'production' && e.TENANT_WEBHOOK_ALLOW_HTTP) {
    problems.push('TENANT_WEBHOOK_ALLOW_HTTP must not be true when NODE_ENV=production (https only)');
  }
  if (e.NODE_ENV === 'production' && e.TENANT_WEBHOOK_ALLOW_PRIVATE) {
    // Tenants choose webhook URLs: with this on, any tenant could make the gateway POST into its
    // own network (metadata service, databases' HTTP ports, admin panels).
    problems.push(
      'TENANT_WEBHOOK_ALLOW_PRIVATE must not be true when NODE_ENV=production (tenant webhooks would reach internal addresses)',
    );
  }
  if (!e.METRICS_TOKEN && !e.METRICS_PUBLIC && (e.JWT_SECRET || e.JWT_JWKS_URL)) {
    // Not dev mode (real JWT keys: tokens outlive this process, tenants are real): /metrics shows
    // aggregate balances and money moved, so it is not served to whoever reaches the port by default.
    problems.push(
      'METRICS_TOKEN is required outside dev mode (JWT_SECRET or JWT_JWKS_URL is set): /metrics shows balances and money moved. Set METRICS_TOKEN (≥ 16 characters, sent by Prometheus as a Bearer token), or METRICS_PUBLIC=true to serve /metrics to anyone who reaches the port',
    );
  }
  if (e.HTTP_REQUEST_TIMEOUT < 100 || e.HTTP_HEADERS_TIMEOUT < 100) {
    // 0 would mean "no timeout" to Node: a stalled client would hold its connection forever.
    problems.push('HTTP_REQUEST_TIMEOUT and HTTP_HEADERS_TIMEOUT must be at least 100ms');
  }
  if (e.HTTP_HEADERS_TIMEOUT > e.HTTP_REQUEST_TIMEOUT) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT (${formatDurationMs(e.HTTP_HEADERS_TIMEOUT)}) must not exceed HTTP_REQUEST_TIMEOUT (${formatDurationMs(e.HTTP_REQUEST_TIMEOUT)}): the headers are part of the request`,
    );
  }
  if (e.JWT_JWKS_CACHE_MAX_AGE < 1_000) {
    problems.push('JWT_JWKS_CACHE_MAX_AGE must be at least 1s (every token would refetch the JWKS)');
  }
  if (e.DB_CONNECT_TIMEOUT < 100) {
    // 0 would mean "no timeout" to postgres.js: requests would hang while the database is down.
    problems.push('DB_CONNECT_TIMEOUT must be at least 100ms');
  }
  const minStaleMs = e.PIXELBYTE_SUBMIT_TIMEOUT_MS + RECORD_ANSWER_MARGIN_MS;
  if (e.STALE_SUBMITTING_AFTER < minStaleMs) {
    // A job is `submitting` for as long as its upstream submit may run (PIXELBYTE_SUBMIT_TIMEOUT_MS)
    // plus the time to record the answer. Declared stale sooner, a live submit is turned `unknown`
    // and may be released after UNKNOWN_JOB_GRACE while Pixelbyte accepts (and charges) it.
    problems.push(
      `STALE_SUBMITTING_AFTER (${formatDurationMs(e.STALE_SUBMITTING_AFTER)}) must be at least PIXELBYTE_SUBMIT_TIMEOUT_MS (${e.PIXELBYTE_SUBMIT_TIMEOUT_MS}) + ${formatDurationMs(RECORD_ANSWER_MARGIN_MS)} to record the answer, or a job still being submitted is treated as interrupted: set STALE_SUBMITTING_AFTER=${formatDurationMs(minStaleMs)} or more (or lower PIXELBYTE_SUBMIT_TIMEOUT_MS)`,
    );
  }
  // Invariant 5: no job non-terminal past its deadline (created_at + 1 h). A submit interrupted by a
  // crash is turned `unknown` after STALE_SUBMITTING_AFTER, released UNKNOWN_JOB_GRACE later, each
  // step on a resolver pass (≤ 1 min apart): all of it must fit before the deadline.
  const unknownJobEndsWithinMs = e.STALE_SUBMITTING_AFTER + e.UNKNOWN_JOB_GRACE + 2 * 60_000;
  const maxGraceMs = DEFAULT_MAX_DURATION_SECONDS * 1000 - e.STALE_SUBMITTING_AFTER - 2 * 60_000;
  if (unknownJobEndsWithinMs > DEFAULT_MAX_DURATION_SECONDS * 1000) {
    problems.push(
      `STALE_SUBMITTING_AFTER (${formatDurationMs(e.STALE_SUBMITTING_AFTER)}) + UNKNOWN_JOB_GRACE (${formatDurationMs(e.UNKNOWN_JOB_GRACE)}) + 120s for the resolver's passes must be at most ${formatDurationMs(DEFAULT_MAX_DURATION_SECONDS * 1000)}, a job's deadline, or a job with an unknown outcome outlives it (invariant 5): ${
        maxGraceMs > 0
          ? `lower UNKNOWN_JOB_GRACE to ${formatDurationMs(maxGraceMs)} or less`
          : 'lower STALE_SUBMITTING_AFTER first (it alone leaves no time for the grace)'
      }`,
    );
  }
  return problems;
}

/**
 * The configuration: the variables, validated (each field's schema above), checked together
 * (`combinationProblems`, a failed check is an issue like any other), then renamed and grouped
 * into what the gateway reads. Durations are milliseconds. `AppConfig` is this schema's output, so
 * the type and the mapping cannot disagree.
 */
const configSchema = envSchema.transform((e, ctx) => {
  for (const message of combinationProblems(e)) ctx.addIssue({ code: 'custom', message, input: e });
  return {
    nodeEnv: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    /** Read replica for the finance reports (usage, ledger, CSVs); undefined = the primary. */
    reportsDatabaseUrl: e.REPORTS_DATABASE_URL,
    dataDir: e.DATA_DIR,
    port: e.PORT,
    host: e.HOST,
    pixelbyte: {
      baseUrl: e.PIXELBYTE_BASE_URL,
      apiKey: e.PIXELBYTE_API_KEY,
      timeoutMs: e.PIXELBYTE_TIMEOUT_MS,
      submitTimeoutMs: e.PIXELBYTE_SUBMIT_TIMEOUT_MS,
      webhookSecret: e.PIXELBYTE_WEBHOOK_SECRET,
    },
    publicBaseUrl: e.PUBLIC_BASE_URL,
    webhookTokenSecret: e.WEBHOOK_TOKEN_SECRET,
    jwt: {
      secret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      /** Removed IdP keys are refused at most this long after removal. */
      jwksCacheMaxAgeMs: e.JWT_JWKS_CACHE_MAX_AGE,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
    },
    unknownJobGraceMs: e.UNKNOWN_JOB_GRACE,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    http: { requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT, headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT },
    /** Bearer token for `/metrics`; undefined = open (dev mode, or METRICS_PUBLIC=true). */
    metricsToken: e.METRICS_TOKEN,
    poll: { intervalMs: e.POLL_INTERVAL, concurrency: e.POLL_CONCURRENCY, batchSize: e.POLL_BATCH_SIZE },
    workersEnabled: e.WORKERS_ENABLED,
    dbPoolMax: e.DB_POOL_MAX,
    dbConnectTimeoutMs: e.DB_CONNECT_TIMEOUT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
    staleSubmittingMs: e.STALE_SUBMITTING_AFTER,
    tenantWebhooks: {
      allowHttp: e.TENANT_WEBHOOK_ALLOW_HTTP,
      allowPrivate: e.TENANT_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: e.TENANT_WEBHOOK_TIMEOUT,
      retryBaseMs: e.TENANT_WEBHOOK_RETRY_BASE,
      maxAttempts: e.TENANT_WEBHOOK_MAX_ATTEMPTS,
      intervalMs: e.TENANT_WEBHOOK_INTERVAL,
      secretGraceMs: e.TENANT_WEBHOOK_SECRET_GRACE,
      limitReachedIntervalMs: e.TENANT_WEBHOOK_LIMIT_REACHED_INTERVAL,
    },
    failpoint: e.TOLLGATE_FAILPOINT,
  };
});

export type RawEnv = Record<string, string | undefined>;

/** Typed, validated configuration (the output of `configSchema`). Durations are milliseconds. */
export type AppConfig = z.output<typeof configSchema>;

export class EnvError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'EnvError';
    this.issues = issues;
  }
}

/** Validates the environment once; throws `EnvError` (all problems at once) on bad values. */
export function loadEnv(raw: RawEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // A variable's issue names it; a combination's message names the variables it compares.
    throw new EnvError(
      parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)),
    );
  }
  return parsed.data;
}
