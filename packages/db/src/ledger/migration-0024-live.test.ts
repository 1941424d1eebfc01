import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../client';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { reconcile } from './index';

// Migration 0024 moves a capture's charge from the revenue line's deferred trigger (run at COMMIT)
// to the transaction's immediate trigger. Applied while gateways run (docs/scaling.md, Upgrades), a
// capture that wrote its transaction row under the old triggers and committed under the new ones
// would count its charge nowhere. The migration therefore locks ledger_transactions first: it waits
// for every capture in flight to commit, and holds new ones until it commits. This runs the
// migration's statements (idempotent: CREATE OR REPLACE) while a capture is open and checks that they
// wait for it.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await t.close();
});

const MIGRATION = readFileSync(`${migrationsFolder}/0024_usage_capture_one_upsert.sql`, 'utf8')
  .split('--> statement-breakpoint')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

describe('migration 0024 applied while a capture is in flight', () => {
  it('waits for the capture to commit, so the capture counts its charge under one version of the triggers', async () => {
    expect(MIGRATION[0]).toMatch(/^(--.*\n)*LOCK TABLE ledger_transactions IN SHARE ROW EXCLUSIVE MODE;$/);
    const tenant = await createTestTenant(t.db, { availableMicroCents: 10_000_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, tags: ['a'] });
    const capturing = postgres(t.url, { max: 1, onnotice: () => {} });
    const migrating = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      // The capture: its transaction row and lines are written, its COMMIT not yet sent.
      const capture = await capturing.reserve();
      await capture`BEGIN`;
      const [row] = await capture<{ status: string }[]>`
        SELECT status FROM tollgate_capture_job(${job.id}, ${`txn_live_${job.id}`}, ${`up_${job.id}`},
          40000::bigint, NULL::timestamptz, 'test')`;
      expect(row?.status).toBe('pending');

      // The migration, in one transaction as the migrator runs it.
      const [me] = await migrating<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const pid = me?.pid;
      if (pid === undefined) throw new Error('no backend pid');
      const migration = migrating.begin(async (tx) => {
        for (const statement of MIGRATION) await tx.unsafe(statement);
      });
      let finished = false;
      void migration.then(
        () => {
          finished = true;
        },
        () => {
          finished = true;
        },
      );
      // It waits on the capture's lock (polled from pg_stat_activity, not timed); without the lock it
      // would finish while the capture is still open.
      let waiting = false;
      while (!waiting && !finished) {
        const [w] = await t.sql<{ waiting: boolean }[]>`
          SELECT coalesce(wait_event_type = 'Lock', false) AS waiting FROM pg_stat_activity WHERE pid = ${pid}`;
        waiting = w?.waiting === true;
        if (!waiting) await new Promise((r) => setTimeout(r, 10));
      }
      expect({ waiting, finished }).toEqual({ waiting: true, finished: false });
      await capture`COMMIT`;
      capture.release();
      await migration;
    } finally {
      await capturing.end({ timeout: 5 });
      await migrating.end({ timeout: 5 });
    }
    // Summed over days: the open and the capture may straddle midnight.
    const [u] = await t.sql<{ charged: string; upstream: string }[]>`
      SELECT sum(charged_micro_cents)::text AS charged, sum(upstream_cost_micro_cents)::text AS upstream
        FROM usage_daily WHERE tenant_id = ${tenant.id}`;
    expect(u).toEqual({ charged: '40000', upstream: '40000' });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });
});
