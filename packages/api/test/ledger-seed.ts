// Test-only: bulk-seeds balanced ledger transactions with one INSERT … SELECT generate_series per
// table, so report tests can stream hundreds of thousands of rows without calling the ledger
// 100,000 times. Every transaction is a real top-up shape (platform_funding −x, tenant_available +x,
// summing to zero: the deferred balance trigger checks it at commit), and the tenant's cached
// balance is raised by the same total, so `reconcile` stays clean.
import type { Sql } from '@tollgate/db/client';

export async function seedTopUps(
  sql: Sql,
  opts: { tenantId: string; transactions: number; amountMicroCents: bigint },
): Promise<void> {
  const { tenantId, transactions: n, amountMicroCents: amount } = opts;
  await sql.begin(async (tx) => {
    const [start] = await tx<{ available: bigint }[]>`
      SELECT available_micro_cents AS available FROM tenant_balances WHERE tenant_id = ${tenantId} FOR UPDATE`;
    if (!start) throw new Error(`seedTopUps: no tenant ${tenantId}`);
    await tx`
      INSERT INTO ledger_transactions (id, kind, tenant_id, idempotency_key, request_fingerprint, reference, actor)
      SELECT 'txn_seed_' || ${tenantId} || '_' || g, 'top_up'::ledger_kind, ${tenantId}, 'credit:seed:' || ${tenantId} || ':' || g,
             'seed', 'wire "' || g || '", batch 7', 'test:seed'
        FROM generate_series(1, ${n}::int) AS g`;
    await tx`
      INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
      SELECT 'txn_seed_' || ${tenantId} || '_' || g, 'platform_funding'::ledger_account, NULL, ${(-amount).toString()}::bigint, NULL::bigint
        FROM generate_series(1, ${n}::int) AS g
      UNION ALL
      SELECT 'txn_seed_' || ${tenantId} || '_' || g, 'tenant_available'::ledger_account, ${tenantId}, ${amount.toString()}::bigint,
             ${start.available.toString()}::bigint + g * ${amount.toString()}::bigint
        FROM generate_series(1, ${n}::int) AS g`;
    await tx`
      UPDATE tenant_balances
         SET available_micro_cents = available_micro_cents + ${n}::bigint * ${amount.toString()}::bigint, updated_at = now()
       WHERE tenant_id = ${tenantId}`;
  });
}
