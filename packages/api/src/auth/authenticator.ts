import { timingSafeEqual } from 'node:crypto';
import { type Db, queryPrepared } from '@tollgate/db/client';
import { type SQL, sql } from 'drizzle-orm';
import type { DbBreaker } from '../db-breaker.ts';
import type { Logger } from '../logger.ts';
import type { AuthResult, JwtVerifier, Mode, Principal } from './jwt.ts';
import { hashKey, isKeyToken, type KeyKind, keyKindOf } from './keys.ts';

/**
 * THE authentication function of the gateway: every way in (tRPC context, CSV routes, REST) turns a
 * bearer token into a principal through `verify`. A token starting with `tg_` is one of our keys
 * (keys.ts), anything else a JWT (jwt.ts).
 */
export type Authenticator = {
  verify(token: string): Promise<AuthResult>;
  /**
   * Forgets every cached key lookup: called after a revocation on this instance, so the key is
   * refused here at once (other instances refuse it within KEY_CACHE_TTL_MS).
   */
  forgetKeys(): void;
};

/**
 * How long a key lookup (found, revoked, expired or unknown) is reused without reading the database
 * again: the bound on how late a revocation (or an expiry) takes effect on another instance
 * (product.md: within 1 s), and what makes a key cost no database round trip per request: one
 * indexed read per key per second per instance.
 */
export const KEY_CACHE_TTL_MS = 1_000;
/** Bound on remembered lookups (a flood of random keys cannot grow memory); the oldest goes first. */
const KEY_CACHE_MAX = 10_000;

/**
 * The one refusal for a key that is unknown, revoked or expired (or not shaped like our keys): same
 * code, reason and message, so the answer tells nothing about which (no oracle).
 */
const INVALID_KEY: AuthResult = {
  ok: false,
  reason: 'INVALID_CREDENTIALS',
  message: 'the key is not valid: unknown, revoked or expired',
};

type KeyRow = {
  id: string;
  name: string;
  keyHash: string;
  tenantId: string | null;
  role: 'admin' | 'finance' | null;
  mode: Mode;
  /** Not revoked and not expired, by the database clock, when read. */
  valid: boolean;
  /** last_used_at is null or a minute old or more, when read. */
  touchDue: boolean;
};

const LOOKUP: Record<'tenant' | 'operator', (hash: string) => SQL> = {
  tenant: (hash) => sql`SELECT k.id, k.name, k.key_hash AS "keyHash", k.tenant_id AS "tenantId",
      NULL AS role, k.mode::text AS mode,
      (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS valid,
      (k.last_used_at IS NULL OR k.last_used_at <= now() - interval '1 minute') AS "touchDue"
    FROM api_keys k WHERE k.key_hash = ${hash}`,
  operator: (hash) => sql`SELECT k.id, k.name, k.key_hash AS "keyHash", NULL AS "tenantId",
      k.role::text AS role, 'live' AS mode,
      (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS valid,
      (k.last_used_at IS NULL OR k.last_used_at <= now() - interval '1 minute') AS "touchDue"
    FROM operator_keys k WHERE k.key_hash = ${hash}`,
};

// Conditional: whatever several instances do at once, the column moves at most once a minute.
const TOUCH: Record<'tenant' | 'operator', (id: string) => SQL> = {
  tenant: (id) => sql`UPDATE api_keys SET last_used_at = now()
    WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at <= now() - interval '1 minute')`,
  operator: (id) => sql`UPDATE operator_keys SET last_used_at = now()
    WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at <= now() - interval '1 minute')`,
};

/** A key read: its row (undefined = no such key), until when it is reused, and whether its use was recorded. */
type Lookup = { row: KeyRow | undefined; freshUntil: number; touched: boolean };

/** Compared against when no row was found, so a miss does the same work as a hit. */
const NO_HASH = Buffer.alloc(32);

export function createAuthenticator(opts: {
  jwt: JwtVerifier;
  db: Db;
  dbBreaker: DbBreaker;
  log: Logger;
  /** For tests: the cache age (default KEY_CACHE_TTL_MS) and clock. */
  keyCacheTtlMs?: number;
  now?: () => number;
}): Authenticator {
  const ttl = opts.keyCacheTtlMs ?? KEY_CACHE_TTL_MS;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Lookup>();
  const inFlight = new Map<string, Promise<Lookup>>();
  // Bumped by forgetKeys: a read that started before it must not refill the cache.
  let generation = 0;

  function remember(hash: string, entry: Lookup): void {
    cache.delete(hash);
    if (cache.size >= KEY_CACHE_MAX) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(hash, entry);
  }

  /** The key's row, read at most once per TTL per key (concurrent callers share one read). */
  function lookup(table: 'tenant' | 'operator', hash: string): Promise<Lookup> {
    const hit = cache.get(hash);
    if (hit && now() < hit.freshUntil) return Promise.resolve(hit);
    const pending = inFlight.get(hash);
    if (pending) return pending;
    // Fresh until TTL after the read was SENT: a revocation committed after that is seen by the
    // next read, at most TTL after the commit.
    const started = now();
    const gen = generation;
    const read = queryPrepared<KeyRow>(opts.db, LOOKUP[table](hash))
      .then(([row]) => {
        const entry: Lookup = { row, freshUntil: started + ttl, touched: false };
        if (gen === generation) remember(hash, entry);
        return entry;
      })
      .finally(() => {
        if (inFlight.get(hash) === read) inFlight.delete(hash);
      });
    inFlight.set(hash, read);
    return read;
  }

  /**
   * Records the use when the row, as read, says last_used_at is a minute old (or never set): one
   * UPDATE per read at most, and the UPDATE's own condition keeps the column moving at most once a
   * minute whatever several instances do at once.
   */
  function touch(table: 'tenant' | 'operator', entry: Lookup, row: KeyRow): void {
    if (!row.touchDue || entry.touched) return;
    entry.touched = true;
    // Out of the request's way: a lost write only leaves lastUsedAt a little older.
    void queryPrepared(opts.db, TOUCH[table](row.id)).catch((err: unknown) => {
      opts.log.warn({ err, keyId: row.id }, 'could not record the key as used');
    });
  }

  function principalOf(kind: KeyKind, row: KeyRow): Principal | null {
    if (kind === 'operator') {
      if (row.role === null) return null;
      return {
        role: row.role,
        sub: row.id,
        mode: 'live',
        key: { kind: 'operator_key', id: row.id, name: row.name },
      };
    }
    if (row.tenantId === null || row.mode !== kind) return null;
    return {
      role: 'tenant',
      tenantId: row.tenantId,
      sub: row.id,
      mode: row.mode,
      key: { kind: 'api_key', id: row.id, name: row.name },
    };
  }

  async function verifyKey(token: string): Promise<AuthResult> {
    const kind = keyKindOf(token);
    if (kind === null) return INVALID_KEY;
    const table = kind === 'operator' ? 'operator' : 'tenant';
    const hash = hashKey(token);
    if (opts.dbBreaker.isOpen()) return unavailable();
    let entry: Lookup;
    try {
      entry = await lookup(table, hash);
    } catch (err) {
      opts.dbBreaker.observe(err);
      opts.log.warn({ err }, 'key lookup failed');
      return unavailable();
    }
    const { row } = entry;
    // SECURITY: the row was found by its hash; comparing the hashes again in constant time (also
    // when nothing was found) keeps every outcome doing the same work, and the decision below
    // looks at all conditions before answering, with one refusal for all of them.
    const matches = timingSafeEqual(
      row ? Buffer.from(row.keyHash, 'hex') : NO_HASH,
      Buffer.from(hash, 'hex'),
    );
    const principal = row ? principalOf(kind, row) : null;
    if (!(row && matches && row.valid && principal)) return INVALID_KEY;
    touch(table, entry, row);
    return { ok: true, principal };
  }

  return {
    verify: (token) => (isKeyToken(token) ? verifyKey(token) : opts.jwt.verify(token)),
    forgetKeys() {
      generation += 1;
      cache.clear();
      inFlight.clear();
    },
  };
}

function unavailable(): AuthResult {
  return { ok: false, reason: 'AUTH_UNAVAILABLE', message: 'credentials cannot be checked right now' };
}
