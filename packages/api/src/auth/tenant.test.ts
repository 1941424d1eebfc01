import type { Tenant } from '@tollgate/db';
import { createDb, type Db } from '@tollgate/db/client';
import { createTestDatabase, createTestTenant, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTenantForRequest, loadTenantWithPricing } from './tenant.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

/**
 * Asks `load` for 5 active tenants (each 3 times at once), a suspended one and an unknown id, all
 * concurrently on a fresh pool; checks the reads shared statements and each refusal is the asker's
 * own, and hands each active tenant's result to `expectActive`.
 */
async function expectCoalescedReads<R>(
  load: (db: Db, tenantId: string) => Promise<R>,
  expectActive: (result: PromiseSettledResult<R>, tenant: Tenant) => void,
): Promise<void> {
  const active = await Promise.all(Array.from({ length: 5 }, () => createTestTenant(t.db)));
  const suspended = await createTestTenant(t.db, { status: 'suspended' });
  const pool = createDb(t.url, { max: 10 });
  let statements = 0;
  (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
    if (query.includes('FROM tenants t')) statements++;
  };
  const asks = [
    ...active.flatMap((tenant) => [tenant.id, tenant.id, tenant.id]),
    suspended.id,
    'ten_does_not_exist',
  ];
  let results: PromiseSettledResult<R>[];
  try {
    results = await Promise.allSettled(asks.map((id) => load(pool.db, id)));
  } finally {
    await pool.close();
  }
  expect(statements, `${asks.length} reads coalesced`).toBeLessThan(asks.length);
  results.forEach((r, i) => {
    const id = asks[i];
    if (id === suspended.id) {
      expect(r.status === 'rejected' && r.reason).toMatchObject({ reason: 'TENANT_SUSPENDED' });
    } else if (id === 'ten_does_not_exist') {
      expect(r.status === 'rejected' && r.reason).toMatchObject({ reason: 'UNKNOWN_TENANT' });
    } else {
      const tenant = active.find((a) => a.id === id);
      if (tenant === undefined) throw new Error(`asked for ${id}, which the test did not create`);
      expectActive(r, tenant);
    }
  });
}

describe('tenant reads (coalesced)', () => {
  it('loadTenantWithPricing: concurrent requests share statements, each gets its own tenant or refusal', async () => {
    await expectCoalescedReads(loadTenantWithPricing, (r, tenant) => {
      expect(r.status === 'fulfilled' && r.value.tenant).toMatchObject({ id: tenant.id, status: 'active' });
      expect(r.status === 'fulfilled' && r.value.pricing.rows).toEqual([]);
    });
  });

  it('loadTenantForRequest: concurrent requests share statements, each gets its own tenant or refusal', async () => {
    await expectCoalescedReads(loadTenantForRequest, (r, tenant) => {
      expect(r.status === 'fulfilled' && r.value).toEqual({
        id: tenant.id,
        name: tenant.name,
        status: 'active',
        markupBps: tenant.markupBps,
        requestsPerMinute: tenant.requestsPerMinute,
      });
    });
  });

  it('a batch reads its tenants through the primary key, not by scanning every tenant', async () => {
    // Enough tenants that a scan of them all costs more than probing the index for a batch.
    await t.sql`INSERT INTO tenants (id, name) SELECT 'ten_scan_' || g, 'scan ' || g FROM generate_series(1, 5000) g`;
    await t.sql`ANALYZE tenants`;
    const batches: { query: string; parameters: unknown[] }[] = [];
    const pool = createDb(t.url, { max: 10 });
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string, parameters: unknown[]) => {
      if (query.includes('FROM tenants t') && query.includes('jsonb_array_elements_text')) {
        batches.push({ query, parameters });
      }
    };
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `ten_scan_${i + 1}`);
      await Promise.all(
        ids.flatMap((id) => [loadTenantForRequest(pool.db, id), loadTenantWithPricing(pool.db, id)]),
      );
    } finally {
      await pool.close();
    }
    expect(batches.some((b) => b.query.includes('"rows"'))).toBe(true); // the pricing read was batched
    expect(batches.some((b) => !b.query.includes('"rows"'))).toBe(true); // and the plain one
    for (const { query, parameters } of batches) {
      for (const mode of ['auto', 'force_generic_plan']) {
        const scans = await t.sql.begin(async (tx) => {
          await tx.unsafe(`SET LOCAL plan_cache_mode = ${mode}`);
          const [row] = await tx.unsafe(`EXPLAIN (FORMAT JSON) ${query}`, parameters as never[]);
          return planNodesOn(row?.['QUERY PLAN'], 'tenants');
        });
        expect(scans, `${mode} plan of ${query}`).not.toContain('Seq Scan');
        expect(scans.length, `${mode} plan of ${query}`).toBeGreaterThan(0);
      }
    }
  });
});

/** The node types of an EXPLAIN (FORMAT JSON) plan that read `relation`. */
function planNodesOn(explain: unknown, relation: string): string[] {
  const found: string[] = [];
  const walk = (node: Record<string, unknown>): void => {
    if (node['Relation Name'] === relation) found.push(String(node['Node Type']));
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  for (const root of explain as { Plan: Record<string, unknown> }[]) walk(root.Plan);
  return found;
}
