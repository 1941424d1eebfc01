import type { TransactionSql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { reconcile } from './index';

// What the usage roll-up costs a job (migration 0020): the upserts each money statement makes on
// usage_daily / usage_daily_tags, counted inside the statement's own transaction
// (pg_stat_xact_user_tables), and the tables' storage settings that let those upserts be HOT.
// usage-rollup.test.ts proves the roll-up is right; this pins that it stays cheap.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await t.close();
});

/** Rows inserted + updated in usage_daily and usage_daily_tags so far in this transaction. */
const writesInTx = async (tx: TransactionSql) =>
  Object.fromEntries(
    (
      await tx<{ relname: string; n: string }[]>`
        SELECT relname, (n_tup_ins + n_tup_upd)::text AS n FROM pg_stat_xact_user_tables
         WHERE relname IN ('usage_daily', 'usage_daily_tags')`
    ).map((r) => [r.relname, Number(r.n)]),
  );

describe('usage roll-up cost per job', () => {
  it('a capture with its upstream cost known adds to each roll-up table once (charge and cost together), nothing more at COMMIT', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 10_000_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, tags: ['a'] });
    await t.sql.begin(async (tx) => {
      const before = await writesInTx(tx);
      const [row] = await tx<{ status: string }[]>`
        SELECT status FROM tollgate_capture_job(${job.id}, ${`txn_cost_${job.id}`}, ${`up_${job.id}`},
          40000::bigint, NULL::timestamptz, 'test')`;
      expect(row?.status).toBe('pending');
      // Immediate triggers only: the charge and the upstream cost, in one upsert (migration 0024; the
      // revenue line's deferred trigger added the charge in a second one). Writing the capture
      // transaction before setting the job's cost made it two as well: "cost unknown", then moved back.
      const immediate = await writesInTx(tx);
      expect({
        usage_daily: (immediate.usage_daily ?? 0) - (before.usage_daily ?? 0),
        usage_daily_tags: (immediate.usage_daily_tags ?? 0) - (before.usage_daily_tags ?? 0),
      }).toEqual({ usage_daily: 1, usage_daily_tags: 1 });
      // The deferred ones (the revenue line) run now and find the charge already counted.
      await tx`SET CONSTRAINTS ALL IMMEDIATE`;
      const all = await writesInTx(tx);
      expect({
        usage_daily: (all.usage_daily ?? 0) - (before.usage_daily ?? 0),
        usage_daily_tags: (all.usage_daily_tags ?? 0) - (before.usage_daily_tags ?? 0),
      }).toEqual({ usage_daily: 1, usage_daily_tags: 1 });
    });
    // Summed over days: the open and the capture may straddle midnight.
    const [u] = await t.sql<{ charged: string; upstream: string; unknown: string }[]>`
      SELECT sum(charged_micro_cents)::text AS charged, sum(upstream_cost_micro_cents)::text AS upstream,
             sum(upstream_cost_unknown_jobs)::text AS unknown
        FROM usage_daily WHERE tenant_id = ${tenant.id}`;
    expect(u).toEqual({ charged: '40000', upstream: '40000', unknown: '0' });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });

  it('both roll-up tables leave room on each page for HOT updates and are vacuumed at 1% dead', async () => {
    const rows = await t.sql<{ relname: string; reloptions: string[] | null }[]>`
      SELECT relname, reloptions FROM pg_class WHERE relname IN ('usage_daily', 'usage_daily_tags') ORDER BY relname`;
    expect(rows).toEqual([
      { relname: 'usage_daily', reloptions: ['fillfactor=50', 'autovacuum_vacuum_scale_factor=0.01'] },
      { relname: 'usage_daily_tags', reloptions: ['fillfactor=50', 'autovacuum_vacuum_scale_factor=0.01'] },
    ]);
  });
});
