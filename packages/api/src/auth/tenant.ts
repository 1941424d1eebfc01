import { type Db, groupStatements, queryPrepared } from '@tollgate/db/client';
import { type SQL, sql } from 'drizzle-orm';
import { DomainError } from '../errors.ts';
import { IN_FORCE_OVERRIDES, type InForceOverrides } from '../services/catalogue.ts';
import { invalidKeyError } from './authenticator.ts';

/** What a tenant-role request knows about its caller (loaded fresh on every call: suspension is immediate). */
export type TenantRecord = {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  markupBps: number;
  /** The tenant's requests-per-minute limit (null: none); the REST API's RateLimit headers need it. */
  requestsPerMinute: number | null;
};

const TENANT = sql`SELECT t.id, t.name, t.status, t.markup_bps AS "markupBps",
           t.requests_per_minute AS "requestsPerMinute" FROM tenants t`;

/**
 * One tenant read: the tenant (its live row, or in test mode its sandbox twin), and the API key the
 * caller authenticated with (null for a JWT; the authenticator resolved it to this tenant), whose
 * state (revoked, expired, last used) comes with the tenant row in the same statement: checking a
 * key adds no round trip to a tenant request, and a revocation is seen by the very next request on
 * every instance.
 */
type TenantRead = { tenantId: string; keyId: string | null };

/** The key's state as the tenant read saw it (all null when no key was asked for or none matched). */
type KeyState = { keyId: string | null; keyValid: boolean | null; keyTouchDue: boolean | null };

const KEY_STATE = sql`k.id AS "keyId",
       (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS "keyValid",
       (k.last_used_at IS NULL OR k.last_used_at <= now() - interval '1 minute') AS "keyTouchDue"`;

const readKey = (e: TenantRead) => `${e.tenantId}/${e.keyId ?? ''}`;

/**
 * A tenant read (`select`: columns FROM tenants t), coalesced with `groupStatements`: one in flight
 * per pool; the requests that arrive meanwhile are answered by ONE statement for all their tenants
 * (and keys; as a JSON parameter), started after they arrived, so as fresh as a read of their own
 * (nothing cached). Under load this takes the read every tenant request makes from one round trip
 * per request to one per batch. A failed batch is retried alone per request: each gets its own error.
 */
function coalescedTenantRead<Row extends TenantRecord>(select: SQL) {
  return groupStatements<TenantRead, Row & KeyState>({
    maxInFlight: 1,
    maxGroup: 100,
    keyOf: readKey,
    rowKey: (row) => row.readKey,
    // A read: every request for one tenant (and key) in the batch gets its row.
    rowAnswers: 'all',
    alone: async (db, e) =>
      (
        await queryPrepared<Row & KeyState>(
          db,
          sql`SELECT x.*, ${KEY_STATE}
                FROM (${select} WHERE t.id = ${e.tenantId}) x
                LEFT JOIN api_keys k ON k.id = ${e.keyId}`,
        )
      )[0],
    together: (db, entries) => {
      const reads = [...new Map(entries.map((e) => [readKey(e), e])).values()];
      return queryPrepared<Record<string, unknown>>(
        db,
        // `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the planner cannot see how many ids the JSON holds
        // and guessed 100, so the IN form hashed them and seq-scanned every tenant per batch (its cost
        // grew with the tenants table); an array is probed through the primary key. The key is
        // probed through its primary key per read (LATERAL), for the same reason.
        sql`SELECT x.*, r.tenant_id || '/' || coalesce(r.key_id, '') AS "readKey", ${KEY_STATE}
              FROM (${select} WHERE t.id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(reads.map((e) => e.tenantId))])}::jsonb)))) x
              JOIN jsonb_to_recordset(${JSON.stringify(reads.map((e) => ({ tenant_id: e.tenantId, key_id: e.keyId })))}::jsonb)
                   AS r(tenant_id text, key_id text) ON r.tenant_id = x.id
              LEFT JOIN LATERAL (SELECT id, revoked_at, expires_at, last_used_at FROM api_keys
                                  WHERE id = r.key_id) k ON true`,
      );
    },
    fromRow: (row) => row as Row & KeyState,
  });
}

/** The tenant read of every tenant-role request. */
const readTenant = coalescedTenantRead<TenantRecord>(TENANT);

/**
 * The API key a tenant request came with (auth/authenticator.ts resolved it to this tenant): the
 * tenant read refuses it when it is revoked or expired, and reports its use (`onUsed`, when its
 * last_used_at is a minute old).
 */
export type KeyCheck = { keyId: string; onUsed: () => void };

/**
 * SECURITY: a valid token is not enough — the tenant must still exist and be active, and an API key
 * must not be revoked or expired. One primary-key lookup per tenant request (shared with concurrent
 * requests, `readTenant`); a suspended tenant's tokens and a revoked key stop working at once, with
 * no revocation list.
 */
export async function loadTenantForRequest(db: Db, tenantId: string, key?: KeyCheck): Promise<TenantRecord> {
  const row = await readTenant(db, { tenantId, keyId: key?.keyId ?? null });
  checkKey(row, key);
  return checkTenant(row === undefined ? undefined : tenantOf(row));
}

/** INVALID_CREDENTIALS (the authenticator's one refusal) unless the key the caller used is still good. */
function checkKey(row: KeyState | undefined, key: KeyCheck | undefined): void {
  // No row: no such tenant (or test book not opened yet), refused as such by checkTenant.
  if (key === undefined || row === undefined) return;
  if (row.keyId !== key.keyId || row.keyValid !== true) throw invalidKeyError();
  if (row.keyTouchDue) key.onUsed();
}

function tenantOf(row: TenantRecord): TenantRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    markupBps: row.markupBps,
    requestsPerMinute: row.requestsPerMinute,
  };
}

/** UNKNOWN_TENANT / TENANT_SUSPENDED exactly as `loadTenantForRequest` refuses them. */
function checkTenant(tenant: TenantRecord | undefined): TenantRecord {
  if (!tenant) {
    throw new DomainError({ reason: 'UNKNOWN_TENANT' });
  }
  if (tenant.status !== 'active') {
    throw new DomainError({ reason: 'TENANT_SUSPENDED' });
  }
  return tenant;
}

/** The tenant columns a request needs, and the price overrides in force (same snapshot, DB clock). */
const TENANT_WITH_PRICING = sql`SELECT t.id, t.name, t.status, t.markup_bps AS "markupBps",
           t.requests_per_minute AS "requestsPerMinute", ${IN_FORCE_OVERRIDES} AS "rows", now() AS now
      FROM tenants t`;

type TenantWithPricingRow = TenantRecord & InForceOverrides;

/** The read behind `loadTenantWithPricing`: the one statement every submit sends before its open. */
const readTenantWithPricing = coalescedTenantRead<TenantWithPricingRow>(TENANT_WITH_PRICING);

/**
 * `loadTenantForRequest` for the procedures that price (jobs.submit, pricing.quote): the same tenant
 * row AND the price overrides in force, read by ONE statement (one round trip instead of two), and
 * that statement shared with concurrent requests (`readTenantWithPricing`). Both are read fresh on
 * every call: a suspended tenant is refused at once, and a price change applies from its
 * effectiveFrom on every instance. The overrides are handed over unparsed; the service turns them
 * into a catalogue (`loadCatalogue(db, pricing)`) where it always did.
 */
export async function loadTenantWithPricing(
  db: Db,
  tenantId: string,
  key?: KeyCheck,
): Promise<{ tenant: TenantRecord; pricing: InForceOverrides }> {
  const row = await readTenantWithPricing(db, { tenantId, keyId: key?.keyId ?? null });
  checkKey(row, key);
  const tenant = checkTenant(row === undefined ? undefined : tenantOf(row));
  return { tenant, pricing: { rows: row?.rows ?? [], now: row?.now ?? new Date() } };
}
