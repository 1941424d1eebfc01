import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, signToken } from './jwt.ts';

const SECRET = 'test-secret-that-is-at-least-32-characters-long';
const ISS = 'tollgate';
const AUD = 'tollgate';
const nowS = () => Math.floor(Date.now() / 1000);

let server: Server;
let jwksUrl: string;
let keys: JWK[] = [];
let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
let rsaJwk: JWK;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  keys = [rsaJwk];
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const verifier = () => createJwtVerifier({ secret: SECRET, jwksUrl, issuer: ISS, audience: AUD });
const tenantClaims = { role: 'tenant', tenant_id: 'ten_abc123' };

function hs(claims: Record<string, unknown>, secret = SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

describe('createJwtVerifier', () => {
  it('accepts a valid HS256 tenant token and returns the principal', async () => {
    const { token } = await signToken({
      secret: SECRET,
      issuer: ISS,
      audience: AUD,
      principal: { role: 'tenant', tenantId: 'ten_abc123', sub: 'app-1', mode: 'live' },
      expiresInSeconds: 60,
    });
    expect(await verifier().verify(token)).toEqual({
      ok: true,
      principal: { role: 'tenant', tenantId: 'ten_abc123', sub: 'app-1', mode: 'live' },
    });
  });

  it('puts a token with claim mode "test" in test mode, and refuses any other mode', async () => {
    const { token } = await signToken({
      secret: SECRET,
      issuer: ISS,
      audience: AUD,
      principal: { role: 'tenant', tenantId: 'ten_abc123', sub: 'app-1', mode: 'test' },
      expiresInSeconds: 60,
    });
    expect(await verifier().verify(token)).toEqual({
      ok: true,
      principal: { role: 'tenant', tenantId: 'ten_abc123', sub: 'app-1', mode: 'test' },
    });
    const odd = await new SignJWT({ ...tenantClaims, mode: 'sandbox' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('app-1')
      .setExpirationTime(nowS() + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect(await verifier().verify(odd)).toMatchObject({ ok: false, reason: 'INVALID_CLAIMS' });
  });

  it('accepts a valid RS256 admin token from the JWKS, and a rotated key', async () => {
    const token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('alice')
      .setExpirationTime(nowS() + 60)
      .sign(rsa.privateKey);
    const v = verifier();
    expect(await v.verify(token)).toEqual({
      ok: true,
      principal: { role: 'admin', sub: 'alice', mode: 'live' },
    });

    // Rotation: the IdP publishes a new key; a token with the new kid triggers a refetch.
    const next = await generateKeyPair('ES256');
    keys = [rsaJwk, { ...(await exportJWK(next.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }];
    const rotated = await new SignJWT({ role: 'finance' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('bob')
      .setExpirationTime(nowS() + 60)
      .sign(next.privateKey);
    // jose rate-limits refetches (cooldown); a fresh verifier stands in for "after the cooldown".
    expect(await verifier().verify(rotated)).toEqual({
      ok: true,
      principal: { role: 'finance', sub: 'bob', mode: 'live' },
    });
    keys = [rsaJwk];
  });

  const cases: Array<[string, () => Promise<string>, string]> = [
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() + 60 })}.`,
      'INVALID_TOKEN',
    ],
    [
      'wrong HS key',
      () =>
        hs(
          { ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() + 60 },
          'another-secret-that-is-long-enough-000000',
        ),
      'INVALID_TOKEN',
    ],
    [
      'HS/RS confusion (HS256 signed with the RSA public key as secret)',
      async () => {
        const pem = JSON.stringify(rsaJwk);
        return new SignJWT({ ...tenantClaims, sub: 'x' })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .setIssuer(ISS)
          .setAudience(AUD)
          .setExpirationTime(nowS() + 60)
          .sign(new TextEncoder().encode(pem));
      },
      'INVALID_TOKEN',
    ],
    [
      'expired beyond tolerance',
      () => hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() - 31 }),
      'TOKEN_EXPIRED',
    ],
    [
      'not yet valid',
      () => hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() + 600, nbf: nowS() + 120 }),
      'TOKEN_NOT_YET_VALID',
    ],
    ['missing exp', () => hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD }), 'INVALID_CLAIMS'],
    [
      'wrong iss',
      () => hs({ ...tenantClaims, sub: 'x', iss: 'evil', aud: AUD, exp: nowS() + 60 }),
      'INVALID_CLAIMS',
    ],
    [
      'wrong aud',
      () => hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: 'other', exp: nowS() + 60 }),
      'INVALID_CLAIMS',
    ],
    [
      'tenant without tenant_id',
      () => hs({ role: 'tenant', sub: 'x', iss: ISS, aud: AUD, exp: nowS() + 60 }),
      'INVALID_CLAIMS',
    ],
    [
      'unknown role',
      () => hs({ role: 'root', sub: 'x', iss: ISS, aud: AUD, exp: nowS() + 60 }),
      'INVALID_CLAIMS',
    ],
    ['garbage', async () => 'not.a.jwt', 'INVALID_TOKEN'],
  ];
  it.each(cases)('refuses %s', async (_name, make, reason) => {
    const r = await verifier().verify(await make());
    expect(r.ok, JSON.stringify(r)).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('remembers a verified HS256 token only until its exp, and never for an altered or forged one', async () => {
    let now = new Date('2026-12-01T00:00:00Z');
    const v = createJwtVerifier({ secret: SECRET, issuer: ISS, audience: AUD, currentDate: () => now });
    // exp sooner than the 60 s cache cap: the entry must end at exp, not at the cap.
    const exp = Math.floor(now.getTime() / 1000) + 20;
    const token = await hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp });
    expect((await v.verify(token)).ok).toBe(true);
    expect((await v.verify(token)).ok, 'again, from the cache').toBe(true);
    // Same claims, another signature: a different string, verified on its own (and refused).
    const [head, body] = token.split('.');
    const altered = `${head}.${body}.${'A'.repeat(43)}`;
    expect(await v.verify(altered)).toMatchObject({ ok: false, reason: 'INVALID_TOKEN' });
    const forged = await hs(
      { ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp },
      'another-secret-of-at-least-32-characters!',
    );
    expect(await v.verify(forged)).toMatchObject({ ok: false, reason: 'INVALID_TOKEN' });
    // Past exp + the 30 s clock tolerance the cached entry is gone and jose refuses the token.
    now = new Date((exp + 31) * 1000);
    expect(await v.verify(token)).toMatchObject({ ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('tolerates up to 30 s of clock skew, not more', async () => {
    const token = await hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() - 20 });
    expect((await verifier().verify(token)).ok).toBe(true);
    const generous = createJwtVerifier({
      secret: SECRET,
      issuer: ISS,
      audience: AUD,
      clockToleranceSeconds: 3600,
    });
    const old = await hs({ ...tenantClaims, sub: 'x', iss: ISS, aud: AUD, exp: nowS() - 120 });
    expect((await generous.verify(old)).ok, 'tolerance is capped at 30 s').toBe(false);
  });

  it('without a JWKS, RS256 tokens are refused; without a secret, HS256 tokens are refused', async () => {
    const rs = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('a')
      .setExpirationTime(nowS() + 60)
      .sign(rsa.privateKey);
    expect((await createJwtVerifier({ secret: SECRET, issuer: ISS, audience: AUD }).verify(rs)).ok).toBe(
      false,
    );
    const h = await hs({ role: 'admin', sub: 'a', iss: ISS, aud: AUD, exp: nowS() + 60 });
    expect((await createJwtVerifier({ jwksUrl, issuer: ISS, audience: AUD }).verify(h)).ok).toBe(false);
  });
});

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
