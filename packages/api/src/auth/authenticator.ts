import { timingSafeEqual } from 'node:crypto';
import { type Db, queryPrepared } from '@tollgate/db/client';
import { type SQL, sql } from 'drizzle-orm';
import type { DbBreaker } from '../db-breaker.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { REASONS } from '../reasons.ts';
import type { AuthResult, JwtVerifier, KeyCredential, Mode, Principal } from './jwt.ts';
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
  /**
   * Records a tenant API key's use (the tenant read saw its last_used_at a minute old): at most one
   * UPDATE per key per second per instance, out of the request's way.
   */
  recordUse(key: KeyCredential): void;
  /**
   * Reads a key's state now (no cache). For the paths a key is refused on anyway (wrong role): a
   * revoked or expired key must get INVALID_CREDENTIALS there too, never a WRONG_ROLE that would
   * tell it exists.
   */
  isKeyValid(key: KeyCredential): Promise<boolean>;
};

/**
 * How long a key lookup's verdict (valid, revoked, expired, unknown) is reused without reading the
 * database again. Operator keys: the bound on how late a revocation (or an expiry) takes effect on
 * another instance (product.md: within 1 s). Tenant API keys: which tenant a key belongs to never
 * changes, so a key found once resolves without the database from then on; whether it is still
 * valid is read with the tenant row every tenant request reads anyway (auth/tenant.ts), so a tenant
 * key costs no round trip of its own and its revocation is seen by the very next request.
 */
export const KEY_CACHE_TTL_MS = 1_000;
/** At most one last_used_at UPDATE per key per this long per instance (the UPDATE's own condition makes it once a minute). */
const RECORD_USE_INTERVAL_MS = 1_000;
/** Bound on remembered lookups (a flood of random keys cannot grow memory); the oldest goes first. */
const KEY_CACHE_MAX = 10_000;

/**
 * The one refusal for a key that is unknown, revoked or expired (or not shaped like our keys): same
 * code, reason and message, so the answer tells nothing about which (no oracle).
 */
const INVALID_KEY: AuthResult = {
  ok: false,
  reason: 'INVALID_CREDENTIALS',
  message: REASONS.INVALID_CREDENTIALS.message,
};

/** The same refusal, thrown where a key is found revoked or expired after authentication (tenant read, wrong role). */
export function invalidKeyError(): DomainError {
  return new DomainError({ reason: 'INVALID_CREDENTIALS' });
}

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

  /**
   * The key's row, read at most once per TTL per key (concurrent callers share one read); a tenant
   * key once found is not read again (its validity comes with the tenant read).
   */
  function lookup(table: 'tenant' | 'operator', hash: string): Promise<Lookup> {
    const hit = cache.get(hash);
    if (hit && (now() < hit.freshUntil || (table === 'tenant' && hit.row !== undefined))) {
      return Promise.resolve(hit);
    }
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

  const recordedAt = new Map<string, number>();
  /**
   * Records a key's use, when a read said its last_used_at is a minute old (or never set): at most
   * one UPDATE per key per RECORD_USE_INTERVAL_MS here, and the UPDATE's own condition keeps the
   * column moving at most once a minute whatever several instances do at once.
   */
  function recordUse(table: 'tenant' | 'operator', id: string): void {
    const t = now();
    const last = recordedAt.get(id);
    if (last !== undefined && t - last < RECORD_USE_INTERVAL_MS) return;
    if (recordedAt.size >= KEY_CACHE_MAX) recordedAt.clear();
    recordedAt.set(id, t);
    // Out of the request's way: a lost write only leaves lastUsedAt a little older.
    void queryPrepared(opts.db, TOUCH[table](id)).catch((err: unknown) => {
      opts.log.warn({ err, keyId: id }, 'could not record the key as used');
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
    // looks at all conditions before answering, with one refusal for all of them. A verdict older
    // than the TTL is only ever a tenant key's: the tenant read checks it again (auth/tenant.ts).
    const matches = timingSafeEqual(
      row ? Buffer.from(row.keyHash, 'hex') : NO_HASH,
      Buffer.from(hash, 'hex'),
    );
    const principal = row ? principalOf(kind, row) : null;
    const refusedNow = now() < entry.freshUntil && row?.valid !== true;
    if (!(row && matches && principal) || refusedNow) return INVALID_KEY;
    // Tenant keys: the tenant read reports their use (loadTenantForRequest → recordUse).
    if (table === 'operator' && row.touchDue && !entry.touched) {
      entry.touched = true;
      recordUse(table, row.id);
    }
    return { ok: true, principal };
  }

  return {
    verify: (token) => (isKeyToken(token) ? verifyKey(token) : opts.jwt.verify(token)),
    forgetKeys() {
      generation += 1;
      cache.clear();
      inFlight.clear();
    },
    recordUse: (key) => recordUse(key.kind === 'operator_key' ? 'operator' : 'tenant', key.id),
    async isKeyValid(key) {
      const table = key.kind === 'operator_key' ? sql`operator_keys` : sql`api_keys`;
      const [row] = await queryPrepared<{ valid: boolean }>(
        opts.db,
        sql`SELECT (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS valid
              FROM ${table} WHERE id = ${key.id}`,
      );
      return row?.valid === true;
    },
  };
}

function unavailable(): AuthResult {
  return { ok: false, reason: 'AUTH_UNAVAILABLE', message: 'credentials cannot be checked right now' };
}
