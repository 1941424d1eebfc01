import { type Db, groupStatements, queryPrepared } from '@tollgate/db/client';
import { type SQL, sql } from 'drizzle-orm';
import { DomainError } from '../errors.ts';
import { IN_FORCE_OVERRIDES, type InForceOverrides } from '../services/admin/prices.ts';

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
 * A tenant read (`select`: columns FROM tenants t), coalesced with `groupStatements`: one in flight
 * per pool; the requests that arrive meanwhile are answered by ONE statement for all their tenants
 * (their ids as one JSON parameter), started after they arrived, so as fresh as a read of their own
 * (nothing cached). Under load this takes the read every tenant request makes from one round trip
 * per request to one per batch. A failed batch is retried alone per request: each gets its own error.
 */
function coalescedTenantRead<Row extends TenantRecord>(select: SQL) {
  return groupStatements<string, Row>({
    maxInFlight: 1,
    maxGroup: 100,
    keyOf: (tenantId) => tenantId,
    // A read: every request for one tenant in the batch gets its row.
    rowAnswers: 'all',
    alone: async (db, tenantId) => (await queryPrepared<Row>(db, sql`${select} WHERE t.id = ${tenantId}`))[0],
    together: (db, tenantIds) =>
      queryPrepared<Record<string, unknown>>(
        db,
        // `= ANY(ARRAY(…))`, not `IN (SELECT …)`: the planner cannot see how many ids the JSON holds
        // and guessed 100, so the IN form hashed them and seq-scanned every tenant per batch (its cost
        // grew with the tenants table); an array is probed through the primary key.
        sql`${select} WHERE t.id = ANY(ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(tenantIds)])}::jsonb)))`,
      ),
    fromRow: (row) => row as Row,
  });
}

/** The tenant read of every tenant-role request. */
const readTenant = coalescedTenantRead<TenantRecord>(TENANT);

/**
 * SECURITY: a valid token is not enough — the tenant must still exist and be active. One primary-key
 * lookup per tenant request (shared with concurrent requests, `readTenant`); a suspended tenant's
 * tokens stop working at once, with no token revocation list.
 */
export async function loadTenantForRequest(db: Db, tenantId: string): Promise<TenantRecord> {
  return checkTenant(await readTenant(db, tenantId));
}

/** UNKNOWN_TENANT / TENANT_SUSPENDED exactly as `loadTenantForRequest` refuses them. */
function checkTenant(tenant: TenantRecord | undefined): TenantRecord {
  if (!tenant) {
    throw new DomainError({
      code: 'UNAUTHORIZED',
      reason: 'UNKNOWN_TENANT',
      message: 'the token names a tenant that does not exist',
    });
  }
  if (tenant.status !== 'active') {
    throw new DomainError({
      code: 'FORBIDDEN',
      reason: 'TENANT_SUSPENDED',
      message: 'this tenant is suspended',
    });
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
): Promise<{ tenant: TenantRecord; pricing: InForceOverrides }> {
  const row = await readTenantWithPricing(db, tenantId);
  const tenant = checkTenant(
    row === undefined
      ? undefined
      : {
          id: row.id,
          name: row.name,
          status: row.status,
          markupBps: row.markupBps,
          requestsPerMinute: row.requestsPerMinute,
        },
  );
  return { tenant, pricing: { rows: row?.rows ?? [], now: row?.now ?? new Date() } };
}
