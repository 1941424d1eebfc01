import { createDb } from '@tollgate/db/client';
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

describe('tenant reads (coalesced)', () => {
  it('concurrent requests share statements, and each gets its own tenant or its own refusal', async () => {
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
    let results: PromiseSettledResult<Awaited<ReturnType<typeof loadTenantWithPricing>>>[];
    try {
      results = await Promise.allSettled(asks.map((id) => loadTenantWithPricing(pool.db, id)));
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
        expect(r.status === 'fulfilled' && r.value.tenant).toMatchObject({ id, status: 'active' });
        expect(r.status === 'fulfilled' && r.value.pricing.rows).toEqual([]);
      }
    });
  });

  it('loadTenantForRequest: concurrent requests share statements, each gets its own tenant or refusal', async () => {
    const active = await Promise.all(Array.from({ length: 4 }, () => createTestTenant(t.db)));
    const suspended = await createTestTenant(t.db, { status: 'suspended' });
    const pool = createDb(t.url, { max: 10 });
    let statements = 0;
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
      if (query.includes('FROM tenants t')) statements++;
    };
    const asks = [...active.flatMap((tenant) => [tenant.id, tenant.id]), suspended.id, 'ten_nope'];
    let results: PromiseSettledResult<Awaited<ReturnType<typeof loadTenantForRequest>>>[];
    try {
      results = await Promise.allSettled(asks.map((id) => loadTenantForRequest(pool.db, id)));
    } finally {
      await pool.close();
    }
    expect(statements, `${asks.length} reads coalesced`).toBeLessThan(asks.length);
    results.forEach((r, i) => {
      const id = asks[i];
      if (id === suspended.id)
        expect(r.status === 'rejected' && r.reason).toMatchObject({ reason: 'TENANT_SUSPENDED' });
      else if (id === 'ten_nope')
        expect(r.status === 'rejected' && r.reason).toMatchObject({ reason: 'UNKNOWN_TENANT' });
      else {
        const tenant = active.find((a) => a.id === id);
        expect(r.status === 'fulfilled' && r.value).toEqual({
          id,
          name: tenant?.name,
          status: 'active',
          markupBps: tenant?.markupBps,
        });
      }
    });
  });
});
