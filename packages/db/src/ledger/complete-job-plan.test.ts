import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { advanceJob, captureJob, reconcile } from './index';

// A completion finds its job by primary key (migration 0023). Its old statement, `UPDATE jobs …
// WHERE id = $1 AND status IN ('pending', 'processing')`, matched the predicate of the partial poll
// index (in-flight jobs), and once the statistics said in-flight jobs were rare, which they are in
// any installation that has run a while, the planner scanned that whole index for the one id: on
// the bench's 1M-line ledger 1,158 buffers and 1,358 rows per completion at 265 submits/s, every
// completion slower as more jobs are in flight. This pins the rows a completion reads.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
});
afterAll(async () => {
  await t.close();
});

const upstreamCompleted = {
  status: 'completed' as const,
  output: 'https://example.test/out.png',
  outputs: null,
  error: null,
  completedAt: null,
};

async function acceptedJob(tenantId: string, i: number) {
  const job = await openTestJob(t.db, { tenantId });
  const captured = await captureJob(t.db, {
    jobId: job.id,
    upstreamJobId: `up_plan_${i}_${job.id}`,
    upstreamCostMicroCents: 40_000n,
    estimatedCompletionTime: null,
  });
  expect(captured.ok).toBe(true);
  return job;
}

describe('completing a job', () => {
  it('reads the job by primary key, not by scanning the jobs in flight, whatever the statistics say', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000_000n });
    // A history of completed jobs, analysed while none is in flight (an installation after a quiet
    // night, or the bench after its seed): the planner then believes the poll index is empty.
    for (let i = 0; i < 300; i++) {
      const job = await acceptedJob(tenant.id, i);
      await advanceJob(t.db, { jobId: job.id, actor: 'test', upstream: upstreamCompleted });
    }
    await t.sql`VACUUM ANALYZE jobs`;
    // Then a busy minute: 60 jobs in flight.
    const inFlight = [];
    for (let i = 0; i < 60; i++) inFlight.push(await acceptedJob(tenant.id, 1_000 + i));
    const target = inFlight[30];
    if (!target) throw new Error('no job');

    await t.sql.begin(async (tx) => {
      const fetched = async () => {
        const [r] = await tx<{ n: string }[]>`
          SELECT (coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0))::text AS n
            FROM pg_stat_xact_user_tables WHERE relname = 'jobs'`;
        return Number(r?.n ?? 0);
      };
      const before = await fetched();
      const [row] = await tx<{ id: string; status: string }[]>`
        SELECT id, status FROM tollgate_complete_job(${target.id}, 'https://example.test/out.png', NULL, NULL)`;
      const rowsRead = (await fetched()) - before;
      expect(row).toEqual({ id: target.id, status: 'completed' });
      // The row locked by primary key, then updated by primary key. The old statement read the
      // 60 jobs in flight (and any dead index entries) to find this one.
      expect(rowsRead).toBeLessThanOrEqual(2);
    });
    expect((await reconcile(t.db)).discrepancies).toEqual([]);
  });
});
