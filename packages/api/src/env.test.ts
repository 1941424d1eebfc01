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
    expect(c.pixelbyte.apiKey).toBeUndefined();
    expect(c.logLevel).toBe('info');
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

  it('tenant webhooks: https only by default; http allowed by flag, never in production', () => {
    expect(loadEnv({}).tenantWebhooks).toEqual({
      allowHttp: false,
      timeoutMs: 10_000,
      retryBaseMs: 1_000,
      maxAttempts: 5,
      intervalMs: 1_000,
    });
    expect(
      loadEnv({ TENANT_WEBHOOK_ALLOW_HTTP: 'true', TENANT_WEBHOOK_RETRY_BASE: '50ms' }).tenantWebhooks,
    ).toMatchObject({ allowHttp: true, retryBaseMs: 50 });
    expect(() =>
      loadEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), TENANT_WEBHOOK_ALLOW_HTTP: 'true' }),
    ).toThrow(/TENANT_WEBHOOK_ALLOW_HTTP/);
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

  it('refuses production without real JWT keys', () => {
    expect(() => loadEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET or JWT_JWKS_URL/);
  });
});
