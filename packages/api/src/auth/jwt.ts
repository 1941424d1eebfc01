import { randomUUID } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';
import { z } from 'zod';
import { unstorableText } from '../storable-text.ts';

export type Role = 'tenant' | 'admin' | 'finance';

/** Live or test mode (product.md "Test mode"): from a `tg_test_` key or a JWT claim `mode: "test"`. */
export type Mode = 'live' | 'test';

/** The key a caller authenticated with (keys.ts): its id is the `sub`, its name goes to audit rows. */
export type KeyCredential = { kind: 'api_key' | 'operator_key'; id: string; name: string };

/**
 * The authenticated caller. `sub` is recorded as the actor of every audited action (a key's id for
 * key callers). `mode` is `test` for a `tg_test_` key or a JWT with claim `mode: "test"`, else `live`.
 */
export type Principal =
  | { role: 'tenant'; tenantId: string; sub: string; mode: Mode; key?: KeyCredential }
  | { role: 'admin' | 'finance'; tenantId?: undefined; sub: string; mode: Mode; key?: KeyCredential };

/** What a signed token says (signToken): the principal's claims; mode defaults to live (no claim). */
export type TokenSubject =
  | { role: 'tenant'; tenantId: string; sub: string; mode?: Mode }
  | { role: 'admin' | 'finance'; sub: string; mode?: Mode };

export type AuthFailureReason =
  | 'MISSING_TOKEN'
  | 'INVALID_TOKEN'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'INVALID_CLAIMS'
  | 'INVALID_CREDENTIALS'
  | 'AUTH_UNAVAILABLE';

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailureReason; message: string };

export type JwtVerifier = { verify(token: string): Promise<AuthResult> };

/**
 * SECURITY: each key type is bound to its own pinned algorithms, chosen from the token header BEFORE
 * any key is used: HS256 tokens are only ever checked with JWT_SECRET, and asymmetric tokens only
 * with the JWKS. So an RS-signed token can never be checked against the shared secret, nor an
 * HS-signed token against a public key (HS/RS confusion), and `alg: none` matches neither.
 */
const HMAC_ALGS = ['HS256'] as const;
const ASYMMETRIC_ALGS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
/** Upper bound on accepted clock skew (product: "small clock tolerance"). */
export const MAX_CLOCK_TOLERANCE_SECONDS = 30;

/** Recorded as the actor of audited actions: text Postgres can store (no NUL, no lone surrogate). */
const subject = z
  .string()
  .min(1)
  .refine(
    (s) => unstorableText(s) === null,
    'sub must be text Postgres can store (no NUL, no lone surrogate)',
  );

/** Optional claim `mode`: "test" puts the caller in test mode; absent = live. */
const modeClaim = z.enum(['live', 'test']).default('live');

const claimsSchema = z.union([
  z.object({
    role: z.literal('tenant'),
    tenant_id: z.string().regex(/^ten_[A-Za-z0-9_-]{1,64}$/),
    sub: subject,
    mode: modeClaim,
  }),
  z.object({ role: z.enum(['admin', 'finance']), sub: subject, mode: modeClaim }),
]);

function toPrincipal(payload: JWTPayload): AuthResult {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) {
    const role = payload.role;
    const message =
      role === 'tenant' && typeof payload.tenant_id !== 'string'
        ? 'tenant tokens need a tenant_id claim'
        : 'token claims are invalid: need role (tenant | admin | finance), sub, tenant_id for tenants, and mode (if any) live | test';
    return { ok: false, reason: 'INVALID_CLAIMS', message };
  }
  const c = parsed.data;
  return c.role === 'tenant'
    ? { ok: true, principal: { role: 'tenant', tenantId: c.tenant_id, sub: c.sub, mode: c.mode } }
    : { ok: true, principal: { role: c.role, sub: c.sub, mode: c.mode } };
}

function failureOf(err: unknown): AuthResult {
  if (err instanceof joseErrors.JWTExpired)
    return { ok: false, reason: 'TOKEN_EXPIRED', message: 'token expired' };
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') {
      return { ok: false, reason: 'TOKEN_NOT_YET_VALID', message: 'token is not valid yet' };
    }
    return { ok: false, reason: 'INVALID_CLAIMS', message: `token claim "${err.claim}" is ${err.reason}` };
  }
  if (
    err instanceof joseErrors.JWKSTimeout ||
    (err instanceof Error && !(err instanceof joseErrors.JOSEError))
  ) {
    return { ok: false, reason: 'AUTH_UNAVAILABLE', message: 'signing keys could not be fetched' };
  }
  return { ok: false, reason: 'INVALID_TOKEN', message: 'token signature or format is invalid' };
}

/** Default JWKS cache age: a key removed at the identity provider is refused within 60 s. */
export const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 60_000;
/** Minimum time between two JWKS fetches (an unknown `kid` must not let anyone hammer the IdP). */
export const JWKS_COOLDOWN_MS = 5_000;

export function createJwtVerifier(opts: {
  secret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
  /**
   * How long a fetched JWKS is trusted without refetching (default 60 s): a key the identity
   * provider removed keeps verifying tokens for at most this long. jose's own default is 10 min.
   */
  jwksCacheMaxAgeMs?: number;
  /** For tests: a fixed "now". */
  currentDate?: () => Date;
}): JwtVerifier {
  const secretKey = opts.secret ? new TextEncoder().encode(opts.secret) : null;
  // createRemoteJWKSet caches the key set and refetches (rate-limited by cooldown) when a token names
  // an unknown `kid` — that is what makes key rotation at the identity provider seamless. The cache
  // age bounds how long a REMOVED key is still honoured (security window: JWKS_CACHE_MAX_AGE); the
  // cooldown bounds how long a NEW kid can be refused after the last fetch (availability window).
  const cacheMaxAge = opts.jwksCacheMaxAgeMs ?? DEFAULT_JWKS_CACHE_MAX_AGE_MS;
  const jwks = opts.jwksUrl
    ? createRemoteJWKSet(new URL(opts.jwksUrl), {
        cooldownDuration: Math.min(JWKS_COOLDOWN_MS, cacheMaxAge),
        cacheMaxAge,
        timeoutDuration: 5_000,
      })
    : null;
  const clockTolerance = Math.min(
    opts.clockToleranceSeconds ?? MAX_CLOCK_TOLERANCE_SECONDS,
    MAX_CLOCK_TOLERANCE_SECONDS,
  );
  const common = { issuer: opts.issuer, audience: opts.audience, requiredClaims: ['exp'], clockTolerance };
  const verifiedHmac = new VerifiedTokenCache();
  const now = () => (opts.currentDate ? opts.currentDate() : new Date()).getTime();

  return {
    async verify(token) {
      const cached = verifiedHmac.get(token, now());
      if (cached) return cached;
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        return { ok: false, reason: 'INVALID_TOKEN', message: 'token is malformed' };
      }
      const when = opts.currentDate ? { currentDate: opts.currentDate() } : {};
      try {
        if (secretKey && alg === 'HS256') {
          const { payload } = await jwtVerify(token, secretKey, {
            ...common,
            ...when,
            algorithms: [...HMAC_ALGS],
          });
          const principal = toPrincipal(payload);
          if (principal.ok && typeof payload.exp === 'number') {
            verifiedHmac.set(token, principal, Math.min(payload.exp * 1000, now() + VERIFIED_TOKEN_TTL_MS));
          }
          return principal;
        }
        if (jwks && alg !== undefined && (ASYMMETRIC_ALGS as readonly string[]).includes(alg)) {
          const { payload } = await jwtVerify(token, jwks, {
            ...common,
            ...when,
            algorithms: [...ASYMMETRIC_ALGS],
          });
          return toPrincipal(payload);
        }
        return {
          ok: false,
          reason: 'INVALID_TOKEN',
          message: `token algorithm ${alg ?? '(none)'} is not accepted`,
        };
      } catch (err) {
        return failureOf(err);
      }
    },
  };
}

/** How long a verified HS256 token is trusted without re-checking its signature (capped by its exp). */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Bound on remembered tokens (a few MB at most); the oldest is dropped first. */
const VERIFIED_TOKEN_MAX = 10_000;

/**
 * Principals of HS256 tokens already verified, by the exact token string. A tenant app sends the
 * same token on every call, and re-verifying its HMAC (WebCrypto, a thread-pool round trip per call)
 * was ~20% of the gateway's CPU per `jobs.submit` in the bench profile. Safe because the result for
 * the same string and the same secret can only change with time: an entry lives until the token's
 * `exp` (it was valid when verified, so its `nbf` has passed) or 60 s, whichever is first, and only
 * valid tokens are remembered (a forged or altered token never matches an entry: the key is the
 * whole string, signature included). JWKS tokens are not cached, so a key removed at the identity
 * provider still stops working within JWKS_CACHE_MAX_AGE. Suspension is checked per request in the
 * database, never here.
 */
class VerifiedTokenCache {
  readonly #entries = new Map<
    string,
    { principal: Extract<AuthResult, { ok: true }>; expiresAtMs: number }
  >();

  get(token: string, nowMs: number): Extract<AuthResult, { ok: true }> | undefined {
    const hit = this.#entries.get(token);
    if (!hit) return undefined;
    if (nowMs >= hit.expiresAtMs) {
      this.#entries.delete(token);
      return undefined;
    }
    return hit.principal;
  }

  set(token: string, principal: Extract<AuthResult, { ok: true }>, expiresAtMs: number): void {
    if (this.#entries.size >= VERIFIED_TOKEN_MAX) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { principal, expiresAtMs });
  }
}

/** Extracts the token from `Authorization: Bearer <token>`; null when absent or another scheme. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}

/**
 * Signs an HS256 token with the server secret (admin `issueToken`, dev-mode admin token, tests).
 * Every token gets a `jti` so it can be told apart in logs/audits, and always an `exp`.
 */
export async function signToken(opts: {
  secret: string;
  issuer: string;
  audience: string;
  principal: TokenSubject;
  expiresInSeconds: number;
  now?: Date;
  notBefore?: Date;
}): Promise<{ token: string; expiresAt: Date; jti: string }> {
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const exp = nowS + Math.floor(opts.expiresInSeconds);
  const jti = randomUUID();
  const claims: JWTPayload =
    opts.principal.role === 'tenant'
      ? { role: 'tenant', tenant_id: opts.principal.tenantId }
      : { role: opts.principal.role };
  if (opts.principal.mode === 'test') claims.mode = 'test';
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(opts.principal.sub)
    .setIssuedAt(nowS)
    .setExpirationTime(exp)
    .setJti(jti);
  if (opts.notBefore) jwt = jwt.setNotBefore(Math.floor(opts.notBefore.getTime() / 1000));
  const token = await jwt.sign(new TextEncoder().encode(opts.secret));
  return { token, expiresAt: new Date(exp * 1000), jti };
}
