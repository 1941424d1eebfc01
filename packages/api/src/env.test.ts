import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv, parseDurationMs } from './env.ts';

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const c = loadEnv({});
    expect(c.port).toBe(8787);
    expect(c.jwt).toEqual({
      secret: undefined,
      jwksUrl: undefined,
      jwksCacheMaxAgeMs: 60_000,
      issuer: 'tollgate',
      audience: 'tollgate',
    });
    expect(c.unknownJobGraceMs).toBe(15 * 60_000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.reportsDatabaseUrl).toBeUndefined();
    expect(c.pixelbyte.apiKey).toBeUndefined();
    expect(c.logLevel).toBe('info');
  });

  it('REPORTS_DATABASE_URL: a Postgres URL for the reports (a read replica); anything else refused', () => {
    expect(
      loadEnv({ REPORTS_DATABASE_URL: 'postgres://reader@replica:5432/tollgate' }).reportsDatabaseUrl,
    ).toBe('postgres://reader@replica:5432/tollgate');
    expect(() => loadEnv({ REPORTS_DATABASE_URL: 'mysql://replica/tollgate' })).toThrow(EnvError);
  });

  it('parses durations and urls', () => {
    const c = loadEnv({
      UNKNOWN_JOB_GRACE: '900s',
      PUBLIC_BASE_URL: 'https://gw.example.com/',
      PORT: '9000',
    });
    expect(c.unknownJobGraceMs).toBe(900_000);
    expect(c.publicBaseUrl).toBe('https://gw.example.com');
    expect(c.port).toBe(9000);
    expect(parseDurationMs('15m')).toBe(900_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('soon')).toBeNull();
  });

  it('poller: claims what is due every 100 ms by default (a trickle, not a burst every few seconds)', () => {
    // bench/HISTORY.md "Paced poller": with 2 s, ~2 s of due jobs were read and completed in one burst
    // that the submits arriving meanwhile queued behind (added p99 32–60 ms at 200/s; 26–37 with 100 ms).
    expect(loadEnv({}).poll).toEqual({ intervalMs: 100, concurrency: 32, batchSize: 100 });
    expect(loadEnv({ POLL_INTERVAL: '2s' }).poll.intervalMs).toBe(2_000);
  });

  it('tenant webhooks: https only by default; http allowed by flag, never in production', () => {
    expect(loadEnv({}).tenantWebhooks).toEqual({
      allowHttp: false,
      allowPrivate: false,
      timeoutMs: 10_000,
      retryBaseMs: 1_000,
      maxAttempts: 5,
      intervalMs: 1_000,
      secretGraceMs: 86_400_000,
      limitReachedIntervalMs: 900_000,
    });
    expect(
      loadEnv({ TENANT_WEBHOOK_ALLOW_HTTP: 'true', TENANT_WEBHOOK_RETRY_BASE: '50ms' }).tenantWebhooks,
    ).toMatchObject({ allowHttp: true, retryBaseMs: 50 });
    expect(
      loadEnv({ TENANT_WEBHOOK_SECRET_GRACE: '1h', TENANT_WEBHOOK_LIMIT_REACHED_INTERVAL: '60s' })
        .tenantWebhooks,
    ).toMatchObject({ secretGraceMs: 3_600_000, limitReachedIntervalMs: 60_000 });
    expect(() => loadEnv({ TENANT_WEBHOOK_SECRET_GRACE: 'a day' })).toThrow(/TENANT_WEBHOOK_SECRET_GRACE/);
    expect(() =>
      loadEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TENANT_WEBHOOK_ALLOW_HTTP: 'true' }),
    ).toThrow(/TENANT_WEBHOOK_ALLOW_HTTP/);
  });

  it('tenant webhooks: private destinations only by explicit flag (dev, tests), never in production', () => {
    expect(loadEnv({ TENANT_WEBHOOK_ALLOW_PRIVATE: 'true' }).tenantWebhooks.allowPrivate).toBe(true);
    expect(
      loadEnv({ TENANT_WEBHOOK_ALLOW_HTTP: 'true' }).tenantWebhooks.allowPrivate,
      'not implied by http',
    ).toBe(false);
    expect(() =>
      loadEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TENANT_WEBHOOK_ALLOW_PRIVATE: 'true' }),
    ).toThrow(/TENANT_WEBHOOK_ALLOW_PRIVATE/);
  });

  it('JWKS cache age: 60 s by default, configurable, at least 1 s', () => {
    expect(loadEnv({ JWT_JWKS_CACHE_MAX_AGE: '2s' }).jwt.jwksCacheMaxAgeMs).toBe(2_000);
    expect(() => loadEnv({ JWT_JWKS_CACHE_MAX_AGE: '10ms' })).toThrow(/JWT_JWKS_CACHE_MAX_AGE/);
  });

  it('database connect timeout: 5 s by default, configurable, never 0 (= no timeout)', () => {
    expect(loadEnv({}).dbConnectTimeoutMs).toBe(5_000);
    expect(loadEnv({ DB_CONNECT_TIMEOUT: '1500ms' }).dbConnectTimeoutMs).toBe(1_500);
    expect(() => loadEnv({ DB_CONNECT_TIMEOUT: '0' })).toThrow(/DB_CONNECT_TIMEOUT/);
  });

  it('unknown-job grace: refused at boot when an unknown job would outlive its 1 h deadline (invariant 5)', () => {
    // Boundary: 10m stale + 48m grace + 2m of resolver passes = 1 h exactly.
    expect(loadEnv({ UNKNOWN_JOB_GRACE: '48m' }).unknownJobGraceMs).toBe(48 * 60_000);
    let err: unknown;
    try {
      loadEnv({ UNKNOWN_JOB_GRACE: '2h' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    expect((err as EnvError).issues).toEqual([expect.stringContaining('UNKNOWN_JOB_GRACE (7200s)')]);
    expect((err as EnvError).issues[0]).toContain('lower UNKNOWN_JOB_GRACE to 2880s or less');
    expect(() => loadEnv({ UNKNOWN_JOB_GRACE: '48m', STALE_SUBMITTING_AFTER: '10m1s' })).toThrow(EnvError);
    // When the stale threshold alone leaves no room, the advice is about it, not about the grace.
    expect(() => loadEnv({ STALE_SUBMITTING_AFTER: '59m' })).toThrow(/lower STALE_SUBMITTING_AFTER first/);
  });

  it('stale-submitting threshold: refused at boot unless it outlasts the upstream submit deadline', () => {
    expect(loadEnv({}).staleSubmittingMs).toBe(10 * 60_000);
    // Boundary: the submit deadline plus 2 s to record the answer is enough.
    expect(
      loadEnv({ PIXELBYTE_SUBMIT_TIMEOUT_MS: '3000', STALE_SUBMITTING_AFTER: '5s' }).staleSubmittingMs,
    ).toBe(5_000);
    let err: unknown;
    try {
      loadEnv({ STALE_SUBMITTING_AFTER: '20s' }); // the default submit deadline is 30 s
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    const issues = (err as EnvError).issues;
    expect(issues).toHaveLength(1);
    // Says what is wrong, why it matters, and what to set.
    expect(issues[0]).toContain('STALE_SUBMITTING_AFTER (20s)');
    expect(issues[0]).toContain('PIXELBYTE_SUBMIT_TIMEOUT_MS (30000)');
    expect(issues[0]).toContain('set STALE_SUBMITTING_AFTER=32s or more');
    expect(() => loadEnv({ PIXELBYTE_SUBMIT_TIMEOUT_MS: '3000', STALE_SUBMITTING_AFTER: '4999ms' })).toThrow(
      /STALE_SUBMITTING_AFTER=5s or more/,
    );
    // Reported with the other problems, not instead of them.
    expect(() => loadEnv({ STALE_SUBMITTING_AFTER: '1s', DB_CONNECT_TIMEOUT: '0' })).toThrow(
      /DB_CONNECT_TIMEOUT[\s\S]*STALE_SUBMITTING_AFTER|STALE_SUBMITTING_AFTER[\s\S]*DB_CONNECT_TIMEOUT/,
    );
  });

  it('reports every bad variable at once, in one readable error', () => {
    let err: unknown;
    try {
      loadEnv({ PORT: 'eighty', UNKNOWN_JOB_GRACE: 'soon', JWT_SECRET: 'short', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvError);
    const msg = (err as EnvError).message;
    for (const name of ['PORT', 'UNKNOWN_JOB_GRACE', 'JWT_SECRET', 'LOG_LEVEL']) expect(msg).toContain(name);
    expect((err as EnvError).issues).toHaveLength(4);
  });

  it('/metrics: open in dev mode; with real JWT keys the boot needs METRICS_TOKEN or METRICS_PUBLIC=true', () => {
    expect(loadEnv({}).metricsToken).toBeUndefined();
    const secret = 'x'.repeat(32);
    for (const keys of [{ JWT_SECRET: secret }, { JWT_JWKS_URL: 'https://idp.example/jwks.json' }]) {
      expect(() => loadEnv(keys)).toThrow(
        /METRICS_TOKEN is required outside dev mode[\s\S]*METRICS_PUBLIC=true/,
      );
      expect(() => loadEnv({ ...keys, NODE_ENV: 'production' })).toThrow(/METRICS_TOKEN/);
      expect(loadEnv({ ...keys, METRICS_PUBLIC: 'true' }).metricsToken).toBeUndefined();
      expect(loadEnv({ ...keys, METRICS_TOKEN: 'm'.repeat(16) }).metricsToken).toBe('m'.repeat(16));
    }
    // Dev mode may protect it too.
    expect(loadEnv({ METRICS_TOKEN: 'm'.repeat(16) }).metricsToken).toBe('m'.repeat(16));
    expect(() => loadEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16/);
  });

  it('request arrival bounds: 30 s / 10 s by default (not Node’s 300 s), configurable, never 0', () => {
    expect(loadEnv({}).http).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 });
    expect(loadEnv({ HTTP_REQUEST_TIMEOUT: '5s', HTTP_HEADERS_TIMEOUT: '2s' }).http).toEqual({
      requestTimeoutMs: 5_000,
      headersTimeoutMs: 2_000,
    });
    expect(() => loadEnv({ HTTP_REQUEST_TIMEOUT: '0' })).toThrow(/HTTP_REQUEST_TIMEOUT/);
    expect(() => loadEnv({ HTTP_REQUEST_TIMEOUT: '5s' })).toThrow(
      /HTTP_HEADERS_TIMEOUT \(10s\) must not exceed HTTP_REQUEST_TIMEOUT \(5s\)/,
    );
  });

  it('refuses production without real JWT keys', () => {
    expect(() => loadEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET or JWT_JWKS_URL/);
  });

  it('reports combinations only once every variable is valid, without a variable name in front', () => {
    let err: unknown;
    try {
      loadEnv({ NODE_ENV: 'production', PORT: 'abc' });
    } catch (e) {
      err = e;
    }
    expect((err as EnvError).issues).toEqual([expect.stringMatching(/^PORT: /)]);
    try {
      loadEnv({ NODE_ENV: 'production' });
    } catch (e) {
      err = e;
    }
    expect((err as EnvError).issues).toEqual([
      'JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production (no dev secrets in production)',
    ]);
  });
});
