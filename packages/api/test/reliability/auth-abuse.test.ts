// Auth abuse beyond the gateway's own matrix: the JWKS endpoint down, slow or garbled (fail closed,
// HS256 unaffected), key rotation at the identity provider (new kid accepted without a restart, old
// kid refused once removed), and replay of a tenant's token after suspension and after expiry.
// The clock jumps use a faked `Date` only (timers stay real); the database keeps its own clock.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  expectTRPCError,
  type Harness,
  makeClient,
  rowCounts,
  startHarness,
  waitFor,
} from '../harness.ts';

type Key = { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK };
type IdpMode = 'up' | 'error' | 'garbage' | 'hang';

const idp: { mode: IdpMode; keys: JWK[]; fetches: number } = { mode: 'up', keys: [], fetches: 0 };
let server: Server;
let h: Harness;
let k1: Key;
let k2: Key;
let tenantId: string;

async function makeKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function idpToken(key: Key, claims: Record<string, unknown>, expiresIn = '1h') {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer('tollgate')
    .setAudience('tollgate')
    .setSubject('idp-user')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key.privateKey);
}

/**
 * The verifier's JWKS cache age in this file (JWT_JWKS_CACHE_MAX_AGE, 60 s in production): short, so
 * the removal window is observed in real time, not by faking the clock.
 */
const JWKS_WINDOW_MS = 3_000;

beforeAll(async () => {
  k1 = await makeKey('k1');
  k2 = await makeKey('k2');
  server = createServer((_req, res) => {
    idp.fetches++;
    if (idp.mode === 'hang') return; // never answers: the verifier's own timeout must cut it
    if (idp.mode === 'error') {
      res.writeHead(500).end('boom');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(idp.mode === 'garbage' ? '{"keys": "not an array"' : JSON.stringify({ keys: idp.keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  idp.mode = 'error'; // the identity provider is down from the start
  h = await startHarness({
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    jwksCacheMaxAgeMs: JWKS_WINDOW_MS,
  });
  tenantId = (await h.createTenant({ balanceMicroCents: 10_000_000 })).tenantId;
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await h?.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

let clockOffsetMs = 0;
/**
 * Jumps the process clock (Date only, still ticking) forward; jose's JWKS cache ages by it. The
 * offset accumulates over the file so the clock never goes back between tests.
 */
function jumpClock(ms: number) {
  clockOffsetMs += ms;
  vi.useRealTimers();
  const real = Date.now();
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(real + clockOffsetMs);
}

describe('JWKS unavailable: fail closed', () => {
  it('refuses asymmetric tokens while the JWKS is down or garbled, writes nothing, HS256 unaffected', async () => {
    const token = await idpToken(k1, { role: 'tenant', tenant_id: tenantId });
    const client = makeClient(h.url, token);
    for (const mode of ['error', 'garbage'] as const) {
      idp.mode = mode;
      const before = await rowCounts(h.db);
      const e = await expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
      expect(['SERVICE_UNAVAILABLE', 'UNAUTHORIZED'], `JWKS ${mode}: ${e.code}/${e.reason}`).toContain(
        e.code,
      );
      expect(await rowCounts(h.db), `JWKS ${mode}: nothing written`).toEqual(before);
      await expectTRPCError(client.account.get.query());
    }
    // The operator's HS256 tokens do not depend on the identity provider.
    expect((await h.admin.admin.tenants.get.query({ tenantId })).id).toBe(tenantId);
  });

  it('a hanging JWKS is cut by the verifier timeout (SERVICE_UNAVAILABLE, not a hung request)', async () => {
    idp.mode = 'hang';
    const token = await idpToken(k1, { role: 'tenant', tenant_id: tenantId });
    const e = await expectTRPCError(makeClient(h.url, token).account.get.query());
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
    expect(e.reason).toBe('AUTH_UNAVAILABLE');
  }, 20_000);

  it('recovers by itself once the JWKS is back', async () => {
    idp.mode = 'up';
    idp.keys = [k1.jwk];
    const token = await idpToken(k1, { role: 'tenant', tenant_id: tenantId });
    // jose rate-limits refetches (30 s cooldown): move the clock past it rather than sleeping.
    jumpClock(31_000);
    const account = await waitFor(() => makeClient(h.url, token).account.get.query(), {
      timeoutMs: 10_000,
      what: 'an RS token accepted after the JWKS came back',
    });
    expect(account.tenantId).toBe(tenantId);
  });
});

describe('key rotation at the identity provider', () => {
  it('accepts a new kid without a restart and refuses the old kid once it is removed', async () => {
    idp.mode = 'up';
    idp.keys = [k1.jwk];
    const old = await idpToken(k1, { role: 'tenant', tenant_id: tenantId });
    const rotated = await idpToken(k2, { role: 'tenant', tenant_id: tenantId });
    jumpClock(31_000);
    expect((await makeClient(h.url, old).account.get.query()).tenantId).toBe(tenantId);

    // The IdP publishes k2 and retires k1 in one step; tokens signed with k2 appear.
    idp.keys = [k2.jwk];
    jumpClock(31_000); // past the refetch cooldown
    expect((await makeClient(h.url, rotated).account.get.query()).tenantId, 'new kid accepted').toBe(
      tenantId,
    );
    const e = await expectTRPCError(makeClient(h.url, old).account.get.query());
    expect(e.code, 'old kid refused after its removal').toBe('UNAUTHORIZED');
  });

  it('a removed kid is refused within the configured cache window, even if no new kid shows up', async () => {
    idp.mode = 'up';
    idp.keys = [k1.jwk, k2.jwk];
    jumpClock(31_000); // past the refetch cooldown: the next unknown/stale lookup fetches [k1, k2]
    const old = await idpToken(k1, { role: 'tenant', tenant_id: tenantId });
    const fetchesBefore = idp.fetches;
    await waitFor(
      async () =>
        (await makeClient(h.url, old).account.get.query()).tenantId === tenantId &&
        idp.fetches > fetchesBefore,
      { timeoutMs: 10_000, what: 'old kid accepted from a fresh fetch' },
    );
    // The IdP removes k1. The verifier's copy of the key set was fetched before this instant, so it
    // may honour k1 only for requests verified before removedAt + JWKS_WINDOW_MS.
    idp.keys = [k2.jwk];
    const removedAt = Date.now();
    const acceptedStarts: number[] = [];
    const refused = await waitFor(
      async () => {
        const startedAt = Date.now();
        try {
          await makeClient(h.url, old).account.get.query();
          acceptedStarts.push(startedAt);
          return null;
        } catch (err) {
          if (!(err instanceof TRPCClientError)) throw err;
          return err.data as { code: string; reason: string };
        }
      },
      { timeoutMs: JWKS_WINDOW_MS + 5_000, intervalMs: 100, what: 'old kid refused after its removal' },
    );
    expect(`${refused.code}/${refused.reason}`).toBe('UNAUTHORIZED/INVALID_TOKEN');
    const late = acceptedStarts.filter((t) => t - removedAt >= JWKS_WINDOW_MS);
    expect(late, 'no request after the window accepted the removed key').toEqual([]);
    // ...and it stays refused.
    expect((await expectTRPCError(makeClient(h.url, old).account.get.query())).code).toBe('UNAUTHORIZED');
  });
});

describe('token replay', () => {
  it("a suspended tenant's tokens (HS256 and JWKS) stop working at once, on every procedure; reactivation restores them", async () => {
    idp.mode = 'up';
    idp.keys = [k1.jwk, k2.jwk];
    jumpClock(31_000);
    const t = await h.createTenant({ balanceMicroCents: 10_000_000 });
    const viaIdp = makeClient(h.url, await idpToken(k2, { role: 'tenant', tenant_id: t.tenantId }));
    const job = await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await h.admin.admin.tenants.suspend.mutate({ tenantId: t.tenantId, reason: 'reliability suite' });

    for (const client of [t.client, viaIdp]) {
      const before = await rowCounts(h.db);
      const calls: (() => Promise<unknown>)[] = [
        () => client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
        () =>
          client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'replay-1' }),
        () => client.jobs.get.query({ id: job.id }),
        () => client.jobs.list.query({}),
        () => client.jobs.cancel.mutate({ id: job.id }),
        () => client.account.get.query(),
        () => client.account.ledger.query({}),
        () => client.pricing.quote.query({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
        () => client.models.list.query(),
      ];
      for (const call of calls) {
        const e = await expectTRPCError(call());
        expect(`${e.code}/${e.reason}`).toBe('FORBIDDEN/TENANT_SUSPENDED');
      }
      expect(await rowCounts(h.db), 'a suspended tenant writes nothing').toEqual(before);
    }
    // The job accepted before the suspension still settles (money is not stranded).
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    await h.gateway.poller.runOnce();
    await h.admin.admin.tenants.reactivate.mutate({ tenantId: t.tenantId });
    expect((await t.client.account.get.query()).status).toBe('active');
    expect((await viaIdp.account.get.query()).status).toBe('active');
    await h.expectReconciled();
  });

  it('an expired token is refused past the clock tolerance (replay of a captured token)', async () => {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const short = makeClient(
      h.url,
      await h.token({ role: 'tenant', tenantId: t.tenantId, sub: 's' }, { expiresInSeconds: 60 }),
    );
    expect((await short.account.get.query()).tenantId).toBe(t.tenantId);
    jumpClock(60_000 + 31_000);
    const e = await expectTRPCError(short.account.get.query());
    expect(`${e.code}/${e.reason}`).toBe('UNAUTHORIZED/TOKEN_EXPIRED');
  });
});
