import { createDb } from '@tollgate/db/client';
import { createTestDatabase, createTestTenant, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbBreaker } from '../db-breaker.ts';
import { createLogger } from '../logger.ts';
import { createAuthenticator, KEY_CACHE_TTL_MS } from './authenticator.ts';
import { createJwtVerifier } from './jwt.ts';
import { generateKey, hashKey, keyKindOf } from './keys.ts';

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

describe('createAuthenticator', () => {
  it('reads a key at most once per TTL: no database round trip for the requests in between', async () => {
    const clock = { t: 1_000_000 };
    const { auth, pool, dbBreaker } = authenticatorAt(clock);
    const k = await insertKey();
    // Concurrent first uses share one read.
    const first = await Promise.all([auth.verify(k.key), auth.verify(k.key), auth.verify(k.key)]);
    for (const r of first)
      expect(r).toMatchObject({ ok: true, principal: { tenantId, sub: k.id, mode: 'live' } });
    // With its pool closed, the authenticator still answers from the lookup it made (so it did not
    // go to the database) until the lookup is TTL old.
    await pool.close();
    clock.t += KEY_CACHE_TTL_MS - 1;
    expect(await auth.verify(k.key)).toMatchObject({ ok: true });
    clock.t += 1;
    expect(await auth.verify(k.key)).toMatchObject({ ok: false, reason: 'AUTH_UNAVAILABLE' });
    dbBreaker.stop();
  });

  it('a revocation (or expiry) takes effect when the lookup is TTL old, and at once after forgetKeys', async () => {
    const clock = { t: 5_000_000 };
    const { auth, pool } = authenticatorAt(clock);
    const revoked = await insertKey();
    const expired = await insertKey('test');
    const forgotten = await insertKey();
    for (const k of [revoked, expired, forgotten])
      expect(await auth.verify(k.key)).toMatchObject({ ok: true });
    await tdb.sql`UPDATE api_keys SET revoked_at = now() WHERE id IN (${revoked.id}, ${forgotten.id})`;
    await tdb.sql`UPDATE api_keys SET expires_at = now() WHERE id = ${expired.id}`;
    clock.t += KEY_CACHE_TTL_MS;
    const refusal = {
      ok: false,
      reason: 'INVALID_CREDENTIALS',
      message: 'the key is not valid: unknown, revoked or expired',
    };
    expect(await auth.verify(revoked.key)).toEqual(refusal);
    expect(await auth.verify(expired.key)).toEqual(refusal);
    expect(await auth.verify(generateKey('live').key), 'unknown: the same answer').toEqual(refusal);

    const other = authenticatorAt(clock);
    const k = await insertKey();
    expect(await other.auth.verify(k.key)).toMatchObject({ ok: true });
    await tdb.sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${k.id}`;
    other.auth.forgetKeys();
    expect(await other.auth.verify(k.key)).toEqual(refusal);
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
