import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../schema';
import { createTestDatabase, type TestDatabase } from '../testing';
import { createTenant, getAccount, getTenant, listTenants, setTenantStatus, updateTenant } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

describe('tenants', () => {
  it('create, update and suspend each write one audit row, never the webhook secret', async () => {
    const tenant = await createTenant(t.db, {
      name: 'Acme',
      markupBps: 1_500,
      limits: { maxConcurrentJobs: 4, dailySpendLimitMicroCents: 2n ** 60n },
      webhookUrl: 'https://acme.example/hooks',
      actor: 'admin:alice',
      requestId: 'req_1',
    });
    expect(tenant).toMatchObject({
      id: expect.stringMatching(/^ten_[0-9a-z]{20}$/),
      status: 'active',
      markupBps: 1_500,
      maxConcurrentJobs: 4,
      dailySpendLimitMicroCents: 2n ** 60n,
      requestsPerMinute: null,
      webhookSecret: expect.stringMatching(/^whsec_/),
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 0n,
      heldMicroCents: 0n,
      limits: { maxConcurrentJobs: 4, dailySpendLimitMicroCents: 2n ** 60n, requestsPerMinute: null },
    });

    const updated = await updateTenant(t.db, {
      tenantId: tenant.id,
      limits: { requestsPerMinute: 60, maxConcurrentJobs: null },
      actor: 'admin:bob',
    });
    expect(updated).toMatchObject({
      ok: true,
      tenant: { requestsPerMinute: 60, maxConcurrentJobs: null, markupBps: 1_500 },
    });
    expect(
      await setTenantStatus(t.db, {
        tenantId: tenant.id,
        status: 'suspended',
        actor: 'admin:bob',
        reason: 'fraud',
      }),
    ).toMatchObject({
      ok: true,
      tenant: { status: 'suspended' },
    });
    expect(await updateTenant(t.db, { tenantId: 'ten_nobody', name: 'x', actor: 'a' })).toEqual({
      ok: false,
      reason: 'TENANT_NOT_FOUND',
    });
    expect(await setTenantStatus(t.db, { tenantId: 'ten_nobody', status: 'active', actor: 'a' })).toEqual({
      ok: false,
      reason: 'TENANT_NOT_FOUND',
    });

    const audit = await t.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, tenant.id))
      .orderBy(auditLog.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['tenant.create', 'admin:alice'],
      ['tenant.update', 'admin:bob'],
      ['tenant.suspend', 'admin:bob'],
    ]);
    expect(audit[0]?.requestId).toBe('req_1');
    expect(JSON.stringify(audit.map((a) => [a.before, a.after]))).not.toContain(
      tenant.webhookSecret ?? 'whsec_',
    );
    expect(audit[0]?.after).toMatchObject({ dailySpendLimitMicroCents: (2n ** 60n).toString() });
    expect((await getTenant(t.db, tenant.id))?.status).toBe('suspended');
  });

  it('lists tenants newest first with a cursor', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createTenant(t.db, { name: `list-${i}`, actor: 'a' }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listTenants(t.db, { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((x) => x.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const ids = created.map((c) => c.id);
    expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });
});
