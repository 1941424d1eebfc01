import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../ids';
import { SANDBOX_START_MICRO_CENTS, sandboxTenantId } from '../sandbox';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import {
  ensureSandbox,
  getAccount,
  reconcile,
  resetSandboxBalance,
  setTenantStatus,
  updateTenant,
} from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 20 });
});
afterAll(async () => {
  await t.close();
});

describe('sandbox (test mode book)', () => {
  it('is opened once with $100.00 of test credit, even by 20 concurrent first uses', async () => {
    const live = await createTestTenant(t.db, { availableMicroCents: 5_000n });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => ensureSandbox(t.db, { liveTenantId: live.id, actor: 'test' })),
    );
    expect(results.every((r) => r.ok && r.tenantId === sandboxTenantId(live.id))).toBe(true);
    expect(results.filter((r) => r.ok && r.created)).toHaveLength(1);
    expect(await getAccount(t.db, sandboxTenantId(live.id))).toMatchObject({
      availableMicroCents: SANDBOX_START_MICRO_CENTS,
      heldMicroCents: 0n,
    });
    expect(await getAccount(t.db, live.id), 'the live book is untouched').toMatchObject({
      availableMicroCents: 5_000n,
    });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });

  it('refuses an unknown live tenant and a sandbox of a sandbox', async () => {
    expect(await ensureSandbox(t.db, { liveTenantId: 'ten_nobody', actor: 'test' })).toEqual({
      ok: false,
      reason: 'TENANT_NOT_FOUND',
    });
    expect(() => sandboxTenantId('tst_x')).toThrow();
  });

  it('follows the live tenant: settings, limits and suspension', async () => {
    const live = await createTestTenant(t.db, { limits: { maxConcurrentJobs: 3 } });
    await ensureSandbox(t.db, { liveTenantId: live.id, actor: 'test' });
    await updateTenant(t.db, {
      tenantId: live.id,
      markupBps: 250,
      limits: { requestsPerMinute: 7 },
      actor: 'a',
    });
    await setTenantStatus(t.db, { tenantId: live.id, status: 'suspended', actor: 'a' });
    const [twin] = await t.sql<
      {
        status: string;
        markup_bps: number;
        max_concurrent_jobs: number;
        requests_per_minute: number;
        mode: string;
      }[]
    >`
      SELECT status, markup_bps, max_concurrent_jobs, requests_per_minute, mode FROM tenants WHERE id = ${sandboxTenantId(live.id)}`;
    expect(twin).toEqual({
      status: 'suspended',
      markup_bps: 250,
      max_concurrent_jobs: 3,
      requests_per_minute: 7,
      mode: 'test',
    });
  });

  it('resets the available test balance to $100.00 (held money stays held), and never touches a live book', async () => {
    const live = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const { tenantId } = (await ensureSandbox(t.db, { liveTenantId: live.id, actor: 'test' })) as {
      tenantId: string;
    };
    await openTestJob(t.db, { tenantId, quoteMicroCents: 30_000_000n });
    const reset = await resetSandboxBalance(t.db, { tenantId, actor: 'tenant' });
    expect(reset).toMatchObject({
      ok: true,
      availableMicroCents: SANDBOX_START_MICRO_CENTS,
      adjustedMicroCents: 30_000_000n,
    });
    expect(await getAccount(t.db, tenantId)).toMatchObject({
      availableMicroCents: SANDBOX_START_MICRO_CENTS,
      heldMicroCents: 30_000_000n,
    });
    expect(await resetSandboxBalance(t.db, { tenantId, actor: 'tenant' })).toEqual({
      ok: true,
      availableMicroCents: SANDBOX_START_MICRO_CENTS,
      transactionId: null,
      adjustedMicroCents: 0n,
    });
    expect(await resetSandboxBalance(t.db, { tenantId: live.id, actor: 'tenant' })).toEqual({
      ok: false,
      reason: 'NOT_A_SANDBOX',
    });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });

  it('the database refuses a transaction that moves money between a test and a live book', async () => {
    const live = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const { tenantId: twin } = (await ensureSandbox(t.db, { liveTenantId: live.id, actor: 'test' })) as {
      tenantId: string;
    };
    const txn = newId('txn');
    const attempt = t.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO ledger_transactions (id, kind, tenant_id, idempotency_key, request_fingerprint, actor)
        VALUES (${txn}, 'adjustment', ${twin}, ${`attack:${txn}`}, '{}', 'attacker')`);
      await tx.execute(sql`INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents)
        VALUES (${txn}, 'tenant_available', ${twin}, -1000), (${txn}, 'tenant_available', ${live.id}, 1000)`);
    });
    await expect(attempt).rejects.toMatchObject({
      cause: { constraint_name: 'ledger_lines_transaction_tenant_fk' },
    });
    expect(await getAccount(t.db, live.id)).toMatchObject({ availableMicroCents: 1_000n });
  });

  it('a test tenant row must be the twin of a live one (CHECK), so the id tells the book', async () => {
    const live = await createTestTenant(t.db);
    await expect(
      t.db.execute(
        sql`INSERT INTO tenants (id, name, mode, live_tenant_id) VALUES ('tst_other', 'x', 'test', ${live.id})`,
      ),
    ).rejects.toMatchObject({ cause: { constraint_name: 'tenants_mode_check' } });
    await expect(
      t.db.execute(sql`INSERT INTO tenants (id, name, mode) VALUES ('tst_loose', 'x', 'live')`),
    ).rejects.toMatchObject({ cause: { constraint_name: 'tenants_mode_check' } });
  });
});
