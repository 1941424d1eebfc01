import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTenantStatus } from '@tollgate/db/ledger';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  CHEAP_INPUT,
  CHEAP_MODEL,
  type Client,
  expectTRPCError,
  type Harness,
  ISSUER,
  JWT_SECRET,
  makeClient,
  startHarness,
} from './harness.ts';

const nowS = () => Math.floor(Date.now() / 1000);
const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('auth matrix (over HTTP, through @trpc/client)', () => {
  let h: Harness;
  let jwks: Server;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaPublicJwk: string;
  let tenantId: string;
  let tenant: Client;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    rsaPublicJwk = JSON.stringify(jwk);
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    h = await startHarness({ jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks` });
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    tenantId = t.tenantId;
    tenant = t.client;
  });
  afterAll(async () => {
    await h.close();
    await new Promise<void>((r) => jwks.close(() => r()));
  });

  const claims = () => ({
    role: 'tenant',
    tenant_id: tenantId,
    sub: 'app',
    iss: ISSUER,
    aud: AUDIENCE,
    exp: nowS() + 300,
  });
  const hs = (c: Record<string, unknown>, secret = JWT_SECRET) =>
    new SignJWT(c).setProtectedHeader({ alg: 'HS256' }).sign(enc(secret));

  it('a valid tenant token works (HS256 and RS256 via JWKS)', async () => {
    expect((await tenant.account.get.query()).tenantId).toBe(tenantId);
    const rs = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(rsa.privateKey);
    expect((await makeClient(h.url, rs).account.get.query()).tenantId).toBe(tenantId);
  });

  const refused: Array<[string, () => Promise<string | null>, string, string]> = [
    ['missing token', async () => null, 'UNAUTHORIZED', 'MISSING_TOKEN'],
    [
      'alg: none',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
      'UNAUTHORIZED',
      'INVALID_TOKEN',
    ],
    [
      'wrong key',
      () => hs(claims(), 'a-completely-different-secret-0123456789'),
      'UNAUTHORIZED',
      'INVALID_TOKEN',
    ],
    [
      'HS/RS confusion (HS256 keyed with the public RSA key)',
      () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(enc(rsaPublicJwk)),
      'UNAUTHORIZED',
      'INVALID_TOKEN',
    ],
    ['expired', () => hs({ ...claims(), exp: nowS() - 60 }), 'UNAUTHORIZED', 'TOKEN_EXPIRED'],
    ['not yet valid', () => hs({ ...claims(), nbf: nowS() + 120 }), 'UNAUTHORIZED', 'TOKEN_NOT_YET_VALID'],
    ['wrong iss', () => hs({ ...claims(), iss: 'someone-else' }), 'UNAUTHORIZED', 'INVALID_CLAIMS'],
    ['wrong aud', () => hs({ ...claims(), aud: 'another-api' }), 'UNAUTHORIZED', 'INVALID_CLAIMS'],
    [
      'missing exp',
      () => hs({ role: 'tenant', tenant_id: tenantId, sub: 'a', iss: ISSUER, aud: AUDIENCE }),
      'UNAUTHORIZED',
      'INVALID_CLAIMS',
    ],
    ['missing tenant_id', () => hs({ ...claims(), tenant_id: undefined }), 'UNAUTHORIZED', 'INVALID_CLAIMS'],
    [
      'a tenant that does not exist',
      () => hs({ ...claims(), tenant_id: 'ten_doesnotexist' }),
      'UNAUTHORIZED',
      'UNKNOWN_TENANT',
    ],
  ];
  it.each(refused)('refuses %s', async (_name, make, code, reason) => {
    const client = makeClient(h.url, await make());
    const e = await expectTRPCError(client.account.get.query());
    expect(e).toMatchObject({ code, reason, httpStatus: 401 });
    expect(e.requestId).toMatch(/^req_/);
    // The pricing procedures check the tenant in the same statement that reads the prices: same refusal.
    const priced = { model: CHEAP_MODEL, input: CHEAP_INPUT };
    expect(await expectTRPCError(client.jobs.submit.mutate(priced))).toMatchObject({ code, reason });
    expect(await expectTRPCError(client.pricing.quote.query(priced))).toMatchObject({ code, reason });
  });

  it('a tenant calling admin procedures → FORBIDDEN', async () => {
    const e = await expectTRPCError(
      tenant.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 1_000_000,
        idempotencyKey: 'steal',
        reference: 'x',
      }),
    );
    expect(e).toMatchObject({ code: 'FORBIDDEN', reason: 'WRONG_ROLE', httpStatus: 403 });
    expect((await tenant.account.get.query()).availableMicroCents).toBe(1_000_000);
  });

  it('admin and finance tokens cannot call tenant procedures', async () => {
    const e = await expectTRPCError(h.admin.jobs.list.query({}));
    expect(e).toMatchObject({ code: 'FORBIDDEN', reason: 'WRONG_ROLE' });
    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'f' }));
    expect(await expectTRPCError(finance.admin.tenants.create.mutate({ name: 'x' }))).toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it("a tenant never sees or acts on another tenant's job (NOT_FOUND)", async () => {
    const other = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await other.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(await expectTRPCError(tenant.jobs.get.query({ id: job.id }))).toMatchObject({
      code: 'NOT_FOUND',
      httpStatus: 404,
    });
    expect(await expectTRPCError(tenant.jobs.cancel.mutate({ id: job.id }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await tenant.jobs.list.query({})).items.map((j) => j.id)).not.toContain(job.id);
    expect((await other.client.jobs.get.query({ id: job.id })).status).toBe('pending');
  });

  it("a suspended tenant's tokens are refused at once", async () => {
    const t = await h.createTenant({ balanceMicroCents: 100_000 });
    expect((await t.client.account.get.query()).status).toBe('active');
    const r = await setTenantStatus(h.db.db, { tenantId: t.tenantId, status: 'suspended', actor: 'test' });
    expect(r.ok).toBe(true);
    const e = await expectTRPCError(t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toMatchObject({ code: 'FORBIDDEN', reason: 'TENANT_SUSPENDED', httpStatus: 403 });
    expect(
      await expectTRPCError(t.client.pricing.quote.query({ model: CHEAP_MODEL, input: CHEAP_INPUT })),
    ).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'TENANT_SUSPENDED',
    });
    expect(await expectTRPCError(t.client.account.get.query())).toMatchObject({ code: 'FORBIDDEN' });
  });
});
