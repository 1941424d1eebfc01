import { inBook, type Mode, publicTenantId } from '@tollgate/db';
import { sql } from 'drizzle-orm';
import type { PrincipalCtx } from '../context.ts';
import { toWireAmount, wireTotals } from '../wire.ts';

/**
 * `finance.balances`: each tenant's cached available/held, their totals, and the platform accounts
 * summed from the ledger (revenue, funding, adjustments), read in one snapshot. Double entry means
 * tenant available + held + the platform accounts sum to zero (`balanced`).
 */
export async function balancesReport({
  ctx,
  input = {},
}: {
  ctx: PrincipalCtx;
  input?: { mode?: Mode | undefined };
}) {
  const mode = input.mode ?? 'live';
  return ctx.deps.db.transaction(
    async (tx) => {
      const tenants = (await tx.execute(sql`
        SELECT t.id, t.name, t.status, b.available_micro_cents, b.held_micro_cents
          FROM tenants t JOIN tenant_balances b ON b.tenant_id = t.id
         WHERE t.mode = ${mode}
         ORDER BY t.created_at, t.id`)) as unknown as {
        id: string;
        name: string;
        status: 'active' | 'suspended';
        available_micro_cents: bigint;
        held_micro_cents: bigint;
      }[];
      const accounts = (await tx.execute(sql`
        SELECT l.account::text AS account, coalesce(sum(l.amount_micro_cents), 0)::bigint AS total
          FROM ledger_lines l JOIN ledger_transactions x ON x.id = l.transaction_id
         WHERE ${inBook(sql`x.tenant_id`, mode)}
         GROUP BY l.account`)) as unknown as { account: string; total: bigint }[];
      const byAccount = new Map(accounts.map((a) => [a.account, BigInt(a.total)]));
      const available = tenants.reduce((s, t) => s + BigInt(t.available_micro_cents), 0n);
      const held = tenants.reduce((s, t) => s + BigInt(t.held_micro_cents), 0n);
      const revenue = byAccount.get('platform_revenue') ?? 0n;
      const funding = byAccount.get('platform_funding') ?? 0n;
      const adjustments = byAccount.get('platform_adjustments') ?? 0n;
      return {
        livemode: mode === 'live',
        tenants: tenants.map((t) => ({
          tenantId: publicTenantId(t.id),
          name: t.name,
          status: t.status,
          availableMicroCents: toWireAmount(BigInt(t.available_micro_cents)),
          heldMicroCents: toWireAmount(BigInt(t.held_micro_cents)),
        })),
        // Sums may pass 2^53 − 1 (many tenants, years of top-ups): numbers when exact, and always
        // `…Exact` decimal strings beside them (wireTotals), so this report never fails on size.
        totals: wireTotals({ availableMicroCents: available, heldMicroCents: held }),
        platform: wireTotals({
          /** Captured charges minus refunds (positive = earned). */
          revenueMicroCents: revenue,
          /** Money received by top-ups (the ledger books it negative: it left the outside world). */
          fundingMicroCents: funding,
          adjustmentsMicroCents: adjustments,
        }),
        balanced: available + held + revenue + funding + adjustments === 0n,
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
