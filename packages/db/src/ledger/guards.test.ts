import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { hold } from '../testing/bare-holds';
import { getAccount, reconcile, topUp } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

describe('database guards', () => {
  it('rejects UPDATE, DELETE and TRUNCATE of ledger rows and the audit log', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const statements = [
      t.sql`UPDATE ledger_lines SET amount_micro_cents = amount_micro_cents + 1 WHERE tenant_id = ${tenant.id}`,
      t.sql`DELETE FROM ledger_lines WHERE tenant_id = ${tenant.id}`,
      t.sql`UPDATE ledger_transactions SET reference = 'changed' WHERE tenant_id = ${tenant.id}`,
      t.sql`DELETE FROM ledger_transactions WHERE tenant_id = ${tenant.id}`,
      t.sql`TRUNCATE ledger_lines CASCADE`,
      t.sql`TRUNCATE ledger_transactions CASCADE`,
      t.sql`UPDATE audit_log SET actor = 'someone else' WHERE target_id = ${tenant.id}`,
      t.sql`DELETE FROM audit_log WHERE target_id = ${tenant.id}`,
    ];
    for (const statement of statements) {
      await expect(statement).rejects.toThrow(/is append-only/);
    }
    const [row] = await t.sql<{ n: bigint; total: string }[]>`
      SELECT count(*) AS n, sum(amount_micro_cents)::text AS total FROM ledger_lines WHERE tenant_id = ${tenant.id}`;
    expect(row).toEqual({ n: 1n, total: '1000' });
  });

  it('rejects at commit a ledger transaction whose lines do not sum to zero', async () => {
    const tenant = await createTestTenant(t.db);
    const attempt = t.sql.begin(async (tx) => {
      await tx`INSERT INTO ledger_transactions (id, kind, tenant_id, idempotency_key, request_fingerprint, actor)
               VALUES ('txn_forged', 'top_up', ${tenant.id}, 'forged', '{}', 'mallory')`;
      await tx`INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents)
               VALUES ('txn_forged', 'tenant_available', ${tenant.id}, 1000000)`;
      await tx`INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents)
               VALUES ('txn_forged', 'platform_funding', NULL, -1)`;
    });
    await expect(attempt).rejects.toThrow(/ledger transaction txn_forged is unbalanced/);
    const [row] = await t.sql<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM ledger_transactions WHERE id = 'txn_forged'`;
    expect(row?.n).toBe(0n);

    const noLines = t.sql`INSERT INTO ledger_transactions (id, kind, tenant_id, idempotency_key, request_fingerprint, actor)
               VALUES ('txn_empty', 'top_up', ${tenant.id}, 'empty', '{}', 'mallory')`;
    await expect(noLines).rejects.toThrow(/unbalanced \(0 lines/);
  });

  it('CHECK constraints reject a negative balance even from raw SQL', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 10n });
    await expect(
      t.sql`UPDATE tenant_balances SET available_micro_cents = available_micro_cents - 11 WHERE tenant_id = ${tenant.id}`,
    ).rejects.toThrow(/tenant_balances_available_check/);
    await expect(
      t.sql`UPDATE tenant_balances SET held_micro_cents = -1 WHERE tenant_id = ${tenant.id}`,
    ).rejects.toThrow(/tenant_balances_held_check/);
  });

  it('a hold that would overdraw fails without partial writes', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100n });
    const result = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 101n,
      idempotencyKey: `h-${tenant.id}`,
      actor: 'test',
    });
    expect(result).toEqual({
      ok: false,
      reason: 'INSUFFICIENT_BALANCE',
      requiredMicroCents: 101n,
      availableMicroCents: 100n,
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    const [row] = await t.sql<{ holds: bigint; txns: bigint }[]>`
      SELECT (SELECT count(*) FROM holds WHERE tenant_id = ${tenant.id}) AS holds,
             (SELECT count(*) FROM ledger_transactions WHERE tenant_id = ${tenant.id}) AS txns`;
    expect(row).toEqual({ holds: 0n, txns: 1n });
  });

  it('reconcile notices a cached balance changed behind the ledger', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 50n });
    await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 5n,
      idempotencyKey: `r-${tenant.id}`,
      reference: 'x',
      actor: 'a',
    });
    expect((await reconcile(t.db)).discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
    await t.sql`UPDATE tenant_balances SET available_micro_cents = available_micro_cents + 1 WHERE tenant_id = ${tenant.id}`;
    const result = await reconcile(t.db);
    expect(result.ok).toBe(false);
    expect(result.discrepancies).toContainEqual(
      expect.objectContaining({
        kind: 'BALANCE_MISMATCH',
        tenantId: tenant.id,
        expectedMicroCents: 55n,
        actualMicroCents: 56n,
      }),
    );
    await t.sql`UPDATE tenant_balances SET available_micro_cents = available_micro_cents - 1 WHERE tenant_id = ${tenant.id}`;
  });
});
