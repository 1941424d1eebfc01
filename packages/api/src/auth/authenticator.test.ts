import { createDb } from '@tollgate/db/client';
import { createTestDatabase, createTestTenant, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbBreaker } from '../db-breaker.ts';
import { createLogger } from '../logger.ts';
import { createAuthenticator, KEY_CACHE_TTL_MS } from './authenticator.ts';
import { createJwtVerifier } from './jwt.ts';
import { generateKey, hashKey, keyKindOf } from './keys.ts';
import { loadTenantForRequest } from './tenant.ts';

const log = createLogger({ level: 'silent' });
const jwt = createJwtVerifier({ secret: 's'.repeat(32), issuer: 'tollgate', audience: 'tollgate' });
let tdb: TestDatabase;
let tenantId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  tenantId = (await createTestTenant(tdb.db)).id;
});
afterAll(async () => {
  await tdb.close();
});

async function insertKey(mode: 'live' | 'test' = 'live') {
  const k = generateKey(mode);
  const id = `key_${Math.random().toString(36).slice(2, 14)}`;
  await tdb.sql`INSERT INTO api_keys (id, tenant_id, name, mode, prefix, key_hash, created_by)
    VALUES (${id}, ${tenantId}, 'unit', ${mode}, ${k.prefix}, ${k.hash}, 'test')`;
  return { ...k, id };
}

/** An authenticator on its own pool, with a clock the test moves. */
function authenticatorAt(clock: { t: number }, url = tdb.url) {
  const pool = createDb(url, { max: 1 });
  const dbBreaker = createDbBreaker({ probe: () => pool.db.$client`SELECT 1`, log });
  const auth = createAuthenticator({ jwt, db: pool.db, dbBreaker, log, now: () => clock.t });
  return { auth, pool, dbBreaker };
}

describe('keys', () => {
  it('are the prefix and 40 base62 characters, told apart by prefix, hashed whole', () => {
    for (const kind of ['live', 'test', 'operator'] as const) {
      const k = generateKey(kind);
      expect(k.key).toMatch(/^tg_(live|test|op)_[0-9A-Za-z]{40}$/);
      expect(keyKindOf(k.key)).toBe(kind);
      expect(k.prefix).toBe(k.key.slice(0, 12));
      expect(k.hash).toBe(hashKey(k.key));
      expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(keyKindOf('tg_live_short')).toBeNull();
    expect(keyKindOf(`tg_other_${'a'.repeat(40)}`)).toBeNull();
    expect(new Set(Array.from({ length: 100 }, () => generateKey('live').key)).size).toBe(100);
  });
});

async function insertOperatorKey() {
  const k = generateKey('operator');
  const id = `opk_${Math.random().toString(36).slice(2, 14)}`;
  await tdb.sql`INSERT INTO operator_keys (id, name, role, prefix, key_hash, created_by)
    VALUES (${id}, 'unit', 'finance', ${k.prefix}, ${k.hash}, 'test')`;
  return { ...k, id };
}

const refusal = {
  ok: false,
  reason: 'INVALID_CREDENTIALS',
  message: 'the key is not valid: unknown, revoked or expired',
};

describe('createAuthenticator', () => {
  it('a tenant key costs no statement of its own after its first use: its state comes with the tenant read', async () => {
    const clock = { t: 1_000_000 };
    const pool = createDb(tdb.url, { max: 2 });
    const statements: string[] = [];
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => statements.push(query);
    const dbBreaker = createDbBreaker({ probe: () => pool.db.$client`SELECT 1`, log });
    const auth = createAuthenticator({ jwt, db: pool.db, dbBreaker, log, now: () => clock.t });
    const k = await insertKey();
    // Concurrent first uses share one lookup.
    const first = await Promise.all([auth.verify(k.key), auth.verify(k.key), auth.verify(k.key)]);
    for (const r of first)
      expect(r).toMatchObject({ ok: true, principal: { tenantId, sub: k.id, mode: 'live' } });
    expect(
      statements.filter((q) => q.includes('key_hash')),
      'one lookup',
    ).toHaveLength(1);
    statements.length = 0;
    for (let i = 0; i < 5; i++) {
      clock.t += 2 * KEY_CACHE_TTL_MS;
      const r = await auth.verify(k.key);
      if (!r.ok || r.principal.role !== 'tenant' || !r.principal.key)
        throw new Error('expected a tenant key principal');
      const key = r.principal.key;
      await loadTenantForRequest(pool.db, r.principal.tenantId, {
        keyId: key.id,
        onUsed: () => auth.recordUse(key),
      });
    }
    // (postgres.js reads pg_catalog's types once per new connection.)
    const sent = statements.filter((q) => !q.startsWith('UPDATE') && !q.includes('pg_catalog'));
    expect(sent, 'only the tenant reads, each with the key in it').toHaveLength(5);
    for (const q of sent) expect(q).toMatch(/FROM tenants t[\s\S]*LEFT JOIN api_keys k/);
    await pool.close();
    dbBreaker.stop();
  });

  it("a tenant key's revocation or expiry is refused by the very next tenant read, on any instance", async () => {
    const one = authenticatorAt({ t: 0 });
    const revoked = await insertKey();
    const expired = await insertKey('test');
    for (const k of [revoked, expired]) expect(await one.auth.verify(k.key)).toMatchObject({ ok: true });
    await tdb.sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${revoked.id}`;
    await tdb.sql`UPDATE api_keys SET expires_at = now() WHERE id = ${expired.id}`;
    for (const k of [revoked, expired]) {
      await expect(
        loadTenantForRequest(one.pool.db, tenantId, { keyId: k.id, onUsed: () => {} }),
      ).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'INVALID_CREDENTIALS',
        message: refusal.message,
      });
    }
    // An instance that never saw them refuses them at once.
    const other = authenticatorAt({ t: 0 });
    expect(await other.auth.verify(revoked.key)).toEqual(refusal);
    expect(await other.auth.verify(expired.key)).toEqual(refusal);
    expect(await other.auth.verify(generateKey('live').key), 'unknown: the same answer').toEqual(refusal);
    expect(await other.auth.isKeyValid({ kind: 'api_key', id: revoked.id, name: 'unit' })).toBe(false);
    await one.pool.close();
    await other.pool.close();
  });

  it('an operator key is read at most once per TTL: revoked, it is refused when its lookup is TTL old, at once after forgetKeys', async () => {
    const clock = { t: 5_000_000 };
    const { auth, pool } = authenticatorAt(clock);
    const k = await insertOperatorKey();
    expect(await auth.verify(k.key)).toMatchObject({ ok: true, principal: { role: 'finance', sub: k.id } });
    await tdb.sql`UPDATE operator_keys SET revoked_at = now() WHERE id = ${k.id}`;
    clock.t += KEY_CACHE_TTL_MS - 1;
    expect(await auth.verify(k.key), 'its lookup is less than TTL old').toMatchObject({ ok: true });
    clock.t += 1;
    expect(await auth.verify(k.key)).toEqual(refusal);

    const other = authenticatorAt(clock);
    const k2 = await insertOperatorKey();
    expect(await other.auth.verify(k2.key)).toMatchObject({ ok: true });
    await tdb.sql`UPDATE operator_keys SET revoked_at = now() WHERE id = ${k2.id}`;
    other.auth.forgetKeys();
    expect(await other.auth.verify(k2.key)).toEqual(refusal);
    await pool.close();
    await other.pool.close();
  });

  it('routes everything that is not a tg_ key to the JWT verifier', async () => {
    const { auth, pool } = authenticatorAt({ t: 0 });
    expect(await auth.verify('eyJhbGciOiJIUzI1NiJ9.e30.x')).toMatchObject({
      ok: false,
      reason: 'INVALID_TOKEN',
    });
    await pool.close();
  });
});
