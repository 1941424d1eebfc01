import { createDb } from '@tollgate/db/client';
import { getAccount, openJob, reconcile } from '@tollgate/db/ledger';
import { createTestDatabase, createTestTenant, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawHold, runHoldLoop } from './hold-sql';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 4 });
});
afterAll(async () => {
  await t?.close();
});

const MODEL = 'google/nano-banana-dev/text-to-image';
const INPUT = { prompt: 'a fox' };

/**
 * A one-connection pool that records what each statement it sends writes, as
 * "<first keyword> <functions called> <tables inserted into / updated>": one entry per round trip.
 */
function recordingDb() {
  const conn = createDb(t.url, { max: 1 });
  const statements: string[] = [];
  // postgres.js reads `options.debug` for every statement it sends (BEGIN and COMMIT included).
  (conn.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
    const q = query.toLowerCase().replaceAll('"', '');
    const written = [...q.matchAll(/(?:insert into|update)\s+(\w+)/g)].map((m) => m[1]);
    const called = [...q.matchAll(/\b(tollgate_\w+)\(/g)].map((m) => m[1]);
    statements.push([q.trim().split(/\s/)[0], ...called, ...written].join(' '));
  };
  return { ...conn, statements };
}

async function counts() {
  const [r] = await t.sql<{ jobs: bigint; holds: bigint; lines: bigint }[]>`
    SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM holds) AS holds,
           (SELECT count(*) FROM ledger_lines) AS lines`;
  return r;
}

describe('rawHold (baseline b: the ledger hold transaction as raw SQL)', () => {
  it('writes what openJob writes, and the books still reconcile', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const ledgerTenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    expect(
      await rawHold(t.sql, { tenantId: tenant.id, model: MODEL, input: INPUT, amountMicroCents: 40_000n }),
    ).toBe(true);
    const opened = await openJob(t.db, {
      tenantId: ledgerTenant.id,
      model: MODEL,
      input: INPUT,
      quoteMicroCents: 40_000n,
      listCostMicroCents: 40_000n,
      priceVersion: 'bench',
      fingerprint: 'x',
      tags: [],
    });
    expect(opened.ok).toBe(true);
    const raw = await getAccount(t.db, tenant.id);
    const viaLedger = await getAccount(t.db, ledgerTenant.id);
    expect(raw).toMatchObject({ availableMicroCents: 960_000n, heldMicroCents: 40_000n, activeJobs: 1 });
    expect({ ...raw, tenantId: '', name: '' }).toEqual({ ...viaLedger, tenantId: '', name: '' });
    const shape = await t.sql<{ tenant_id: string; lines: bigint; kinds: string }[]>`
      SELECT t.tenant_id, count(l.id) AS lines, string_agg(DISTINCT t.kind::text, ',') AS kinds
      FROM ledger_transactions t JOIN ledger_lines l ON l.transaction_id = t.id
      WHERE t.tenant_id IN (${tenant.id}, ${ledgerTenant.id}) AND t.kind = 'hold' GROUP BY t.tenant_id`;
    expect(shape.map((s) => [s.lines, s.kinds])).toEqual([
      [2n, 'hold'],
      [2n, 'hold'],
    ]);
    const r = await reconcile(t.db);
    expect(r.discrepancies).toEqual([]);
  });

  it('sends the statement openJob sends: one round trip', async () => {
    const raw = recordingDb();
    const viaLedger = recordingDb();
    try {
      const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
      // Open both connections first: postgres.js reads the array types once per new connection.
      await raw.sql`SELECT 1`;
      await viaLedger.sql`SELECT 1`;
      raw.statements.length = 0;
      viaLedger.statements.length = 0;
      expect(
        await rawHold(raw.sql, {
          tenantId: tenant.id,
          model: MODEL,
          input: INPUT,
          amountMicroCents: 40_000n,
        }),
      ).toBe(true);
      const opened = await openJob(viaLedger.db, {
        tenantId: tenant.id,
        model: MODEL,
        input: INPUT,
        quoteMicroCents: 40_000n,
        listCostMicroCents: 40_000n,
        priceVersion: 'bench',
        fingerprint: 'x',
        tags: [],
      });
      expect(opened.ok).toBe(true);
      const expected = ['select tollgate_open_job'];
      expect(viaLedger.statements).toEqual(expected);
      expect(raw.statements).toEqual(expected);
    } finally {
      await raw.close();
      await viaLedger.close();
    }
  });

  it('refuses without money and leaves nothing behind', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 10_000n });
    const before = await counts();
    expect(
      await rawHold(t.sql, { tenantId: tenant.id, model: MODEL, input: INPUT, amountMicroCents: 40_000n }),
    ).toBe(false);
    expect(await counts()).toEqual(before);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 10_000n,
      heldMicroCents: 0n,
    });
  });

  it('loops concurrently on one hot tenant without losing a micro-cent', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000_000n });
    const r = await runHoldLoop({
      sql: t.sql,
      tenantIds: [tenant.id],
      model: MODEL,
      input: INPUT,
      amountMicroCents: 40_000n,
      concurrency: 4,
      durationMs: 500,
    });
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    expect(r.ok).toBeGreaterThan(0);
    const account = await getAccount(t.db, tenant.id);
    // Holds that finished after the window closed are not counted but did commit: ≥, never less.
    expect(account?.heldMicroCents).toBeGreaterThanOrEqual(BigInt(r.ok) * 40_000n);
    expect((account?.heldMicroCents ?? 0n) + (account?.availableMicroCents ?? 0n)).toBe(100_000_000n);
    expect((await reconcile(t.db)).ok).toBe(true);
  });
});
