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
      });
    });
  });
});
