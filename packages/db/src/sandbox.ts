import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';

// Test mode (sandbox) ids: pure, no connection. Every live tenant `ten_<s>` may have one sandbox twin
// `tst_<s>`, a tenant row of its own (mode `test`) whose balance, holds, jobs and ledger lines are the
// tenant's test book. A CHECK on `tenants` ties the prefix to the mode, so the book of any tenant id,
// job or ledger line is known from the id alone (docs/test-mode.md).

export type Mode = 'live' | 'test';

const LIVE_PREFIX = 'ten_';
const TEST_PREFIX = 'tst_';

/** What a tenant starts its test book with, and what `account.resetTestBalance` restores: $100.00. */
export const SANDBOX_START_MICRO_CENTS = 100_000_000n;

/** The sandbox twin's id of a live tenant id (`ten_x` → `tst_x`). */
export function sandboxTenantId(liveTenantId: string): string {
  if (!liveTenantId.startsWith(LIVE_PREFIX)) throw new Error(`not a live tenant id: ${liveTenantId}`);
  return TEST_PREFIX + liveTenantId.slice(LIVE_PREFIX.length);
}

/** The tenant id a caller knows: the live id for a sandbox twin, the id itself otherwise. */
export function publicTenantId(tenantId: string): string {
  return tenantId.startsWith(TEST_PREFIX) ? LIVE_PREFIX + tenantId.slice(TEST_PREFIX.length) : tenantId;
}

/** The book a tenant id's money is in. */
export function modeOfTenant(tenantId: string): Mode {
  return tenantId.startsWith(TEST_PREFIX) ? 'test' : 'live';
}

/** The tenant row that keeps `mode`'s book for a live tenant. */
export function bookTenantId(liveTenantId: string, mode: Mode): string {
  return mode === 'test' ? sandboxTenantId(liveTenantId) : liveTenantId;
}

/** SQL: is the tenant id in `column` in `mode`'s book (the prefix the tenants CHECK ties to the mode). */
export function inBook(column: SQLWrapper, mode: Mode): SQL {
  return sql`left(${column}, 4) = ${mode === 'test' ? TEST_PREFIX : LIVE_PREFIX}`;
}

/**
 * SQL: the tenant id a person knows for the tenant id in `column` (`publicTenantId` in SQL: a sandbox
 * twin's `tst_x` reads `ten_x`, any other id itself).
 */
export function publicTenantIdSql(column: SQLWrapper): SQL {
  return sql`CASE WHEN left(${column}, 4) = ${TEST_PREFIX} THEN ${LIVE_PREFIX} || substr(${column}, 5) ELSE ${column} END`;
}
