// Test mode: the sandbox twin of a tenant and its test money. The twin is an ordinary tenant row
// (mode `test`), so holds, limits, idempotency, refunds and reconcile apply to it unchanged; only
// its creation and the balance reset live here.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { SANDBOX_START_MICRO_CENTS, sandboxTenantId } from '../sandbox';
import { postCredit } from './credits';
import { inTransaction, rows } from './internal';

export type EnsureSandboxResult =
  | { ok: true; tenantId: string; created: boolean }
  | { ok: false; reason: 'TENANT_NOT_FOUND' };

/**
 * The sandbox twin of `liveTenantId`, created on first use with $100.00 of test credit (one
 * transaction: twin row with the live tenant's settings, its balance row, the credit). Concurrent
 * first uses create it once (the insert's ON CONFLICT; the credit's key is unique per twin).
 */
export async function ensureSandbox(
  db: Db,
  input: { liveTenantId: string; actor: string },
): Promise<EnsureSandboxResult> {
  const twin = sandboxTenantId(input.liveTenantId);
  const [existing] = await rows<{ id: string }>(db, sql`SELECT id FROM tenants WHERE id = ${twin}`);
  if (existing) return { ok: true, tenantId: twin, created: false };
  return inTransaction<EnsureSandboxResult>(db, async (tx, refuse) => {
    const inserted = await rows<{ id: string }>(
      tx,
      sql`INSERT INTO tenants (id, name, status, markup_bps, max_concurrent_jobs, daily_spend_limit_micro_cents,
            requests_per_minute, webhook_url, webhook_secret, mode, live_tenant_id)
          SELECT ${twin}, name, status, markup_bps, max_concurrent_jobs, daily_spend_limit_micro_cents,
            requests_per_minute, webhook_url, webhook_secret, 'test', id
            FROM tenants WHERE id = ${input.liveTenantId} AND mode = 'live'
          ON CONFLICT DO NOTHING
          RETURNING id`,
    );
    if (inserted.length === 0) {
      const [live] = await rows(
        tx,
        sql`SELECT 1 FROM tenants WHERE id = ${input.liveTenantId} AND mode = 'live'`,
      );
      if (!live) return refuse({ ok: false, reason: 'TENANT_NOT_FOUND' });
      return { ok: true, tenantId: twin, created: false };
    }
    // The balance.low threshold follows the live tenant's (it lives on the balance row, not in tenants).
    await tx.execute(
      sql`INSERT INTO tenant_balances (tenant_id, available_micro_cents, low_balance_threshold_micro_cents)
          SELECT ${twin}, ${SANDBOX_START_MICRO_CENTS}, low_balance_threshold_micro_cents
            FROM tenant_balances WHERE tenant_id = ${input.liveTenantId}`,
    );
    await postCredit(tx, {
      tenantId: twin,
      kind: 'top_up',
      amountMicroCents: SANDBOX_START_MICRO_CENTS,
      availableAfterMicroCents: SANDBOX_START_MICRO_CENTS,
      idempotencyKey: `sandbox:start:${twin}`,
      requestFingerprint: testCreditFingerprint('top_up', twin, SANDBOX_START_MICRO_CENTS),
      reason: 'test credit: sandbox opened',
      actor: input.actor,
    });
    return { ok: true, tenantId: twin, created: true };
  });
}

/**
 * Puts a sandbox's available test balance back to $100.00 (an adjustment of the difference; money
 * held by test jobs in flight stays held and settles as usual). Refused for a live tenant: this can
 * only ever move test money. `adjustedMicroCents`: the signed difference written (0: nothing moved).
 */
export async function resetSandboxBalance(
  db: Db,
  input: { tenantId: string; actor: string },
): Promise<
  | { ok: true; availableMicroCents: bigint; transactionId: string | null; adjustedMicroCents: bigint }
  | { ok: false; reason: 'TENANT_NOT_FOUND' | 'NOT_A_SANDBOX' }
> {
  type Result = Awaited<ReturnType<typeof resetSandboxBalance>>;
  return inTransaction<Result>(db, async (tx, refuse) => {
    const [row] = await rows<{ available_micro_cents: bigint; mode: string }>(
      tx,
      sql`SELECT b.available_micro_cents, t.mode FROM tenant_balances b JOIN tenants t ON t.id = b.tenant_id
          WHERE b.tenant_id = ${input.tenantId} FOR NO KEY UPDATE OF b`,
    );
    if (!row) return refuse({ ok: false, reason: 'TENANT_NOT_FOUND' });
    if (row.mode !== 'test') return refuse({ ok: false, reason: 'NOT_A_SANDBOX' });
    const delta = SANDBOX_START_MICRO_CENTS - BigInt(row.available_micro_cents);
    if (delta === 0n)
      return {
        ok: true,
        availableMicroCents: SANDBOX_START_MICRO_CENTS,
        transactionId: null,
        adjustedMicroCents: 0n,
      };
    await tx.execute(
      sql`UPDATE tenant_balances SET available_micro_cents = ${SANDBOX_START_MICRO_CENTS}, updated_at = now()
          WHERE tenant_id = ${input.tenantId}`,
    );
    const transactionId = await postCredit(tx, {
      tenantId: input.tenantId,
      kind: 'adjustment',
      amountMicroCents: delta,
      availableAfterMicroCents: SANDBOX_START_MICRO_CENTS,
      idempotencyKey: `sandbox:reset:${newId('txn')}`,
      requestFingerprint: testCreditFingerprint('adjustment', input.tenantId, delta),
      reason: 'test balance reset to $100.00',
      actor: input.actor,
    });
    return {
      ok: true,
      availableMicroCents: SANDBOX_START_MICRO_CENTS,
      transactionId,
      adjustedMicroCents: delta,
    };
  });
}

/** The fingerprint test credits have always stored (never replayed: each key is used once). */
function testCreditFingerprint(kind: 'top_up' | 'adjustment', tenantId: string, amount: bigint): string {
  return JSON.stringify({ op: kind, tenantId, amountMicroCents: String(amount) });
}
