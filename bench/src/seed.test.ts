import { getAccount, reconcile } from '@tollgate/db/ledger';
import { createTestDatabase, createTestTenant, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLedger } from './seed';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await t?.close();
});

describe('seedLedger', () => {
  it('adds exactly the lines asked for, debits balances to match, and the books reconcile', async () => {
    const a = await createTestTenant(t.db, { availableMicroCents: 10_000_000n });
    const b = await createTestTenant(t.db, { availableMicroCents: 10_000_000n });
    const [before] = await t.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM ledger_lines`;
    const jobs = await seedLedger(t.sql, {
      tenantIds: [a.id, b.id],
      lines: 402,
      priceMicroCents: 40_000n,
      model: 'google/nano-banana-dev/text-to-image',
      days: 30,
      chunk: 40,
    });
    expect(jobs).toBe(100);
    const [after] = await t.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM ledger_lines`;
    expect((after?.n ?? 0n) - (before?.n ?? 0n)).toBe(400n);
    expect(await getAccount(t.db, a.id)).toMatchObject({
      availableMicroCents: 8_000_000n,
      heldMicroCents: 0n,
    });
    expect(await getAccount(t.db, b.id)).toMatchObject({
      availableMicroCents: 8_000_000n,
      heldMicroCents: 0n,
    });
    const r = await reconcile(t.db);
    expect(r.discrepancies).toEqual([]);
    const [span] = await t.sql<{ old: boolean }[]>`
      SELECT min(created_at) < now() - interval '1 day' AS old FROM ledger_lines WHERE transaction_id LIKE 'txn_seed%'`;
    expect(span?.old).toBe(true);
  });

  it('seeds in steps (firstJob) over every tenant × day: the usage roll-up is full after T × days jobs and stops growing', async () => {
    const tenants = await Promise.all(
      [1, 2, 3].map(() => createTestTenant(t.db, { availableMicroCents: 100_000_000n })),
    );
    const ids = tenants.map((x) => x.id);
    const opts = { tenantIds: ids, priceMicroCents: 1_000n, model: 'm/seed', days: 10, chunk: 25 };
    const rollupRows = async () => {
      const [r] = await t.sql<{ n: string; days: string }[]>`
        SELECT count(*)::text AS n, count(DISTINCT day)::text AS days FROM usage_daily WHERE tenant_id = ANY(${ids})`;
      return r;
    };
    // 30 jobs = 3 tenants × 10 days: one row each.
    expect(await seedLedger(t.sql, { ...opts, lines: 120, firstJob: 1_000 })).toBe(30);
    expect(await rollupRows()).toEqual({ n: '30', days: '10' });
    // Ten times the ledger, the same roll-up rows (ids continue: no collision).
    expect(await seedLedger(t.sql, { ...opts, lines: 1_200, firstJob: 1_030 })).toBe(300);
    expect(await rollupRows()).toEqual({ n: '30', days: '10' });
    const [sum] = await t.sql<{ charged: string; jobs: string }[]>`
      SELECT sum(charged_micro_cents)::text AS charged, sum(jobs)::text AS jobs FROM usage_daily WHERE tenant_id = ANY(${ids})`;
    expect(sum).toEqual({ charged: String(330 * 1_000), jobs: '330' });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });
});
