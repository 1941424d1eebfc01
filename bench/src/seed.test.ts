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
});
