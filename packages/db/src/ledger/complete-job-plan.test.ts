import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../client';
import type { Job } from '../schema';
import {
  acceptTestJob,
  createTestDatabase,
  createTestTenant,
  openTestJob,
  type TestDatabase,
} from '../testing';
import {
  advanceJob,
  flagUnknownJobForReview,
  getJob,
  markJobUnknown,
  reconcile,
  recordCancelAnswered,
} from './index';

// A job is found by its primary key, its status checked under the row lock (migration 0023,
// packages/db/README.md). `UPDATE jobs … WHERE id = $1 AND status IN ('pending', 'processing')`
// matched the predicate of the partial poll index (in-flight jobs), and once the statistics said
// in-flight jobs were rare, which they are in any installation that has run a while, the planner
// scanned that whole index for the one id: on the bench's 1M-line ledger 1,158 buffers and 1,358 rows
// per completion at 265 submits/s. This pins the rows each by-id step reads with 60 jobs in flight.

let t: TestDatabase;
let inFlight: Job[] = [];
let unknown: Job;

const upstreamCompleted = {
  status: 'completed' as const,
  output: 'https://example.test/out.png',
  outputs: null,
  error: null,
  completedAt: null,
};

/** Rows of `jobs` read by index or sequential scans so far in this transaction. */
async function jobRowsRead(tx: Db): Promise<number> {
  const rows = await tx.execute<{ n: string }>(sql`
    SELECT (coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0))::text AS n
      FROM pg_stat_xact_user_tables WHERE relname = 'jobs'`);
  return Number(rows[0]?.n ?? 0);
}

/** `fn` inside one transaction (a step that opens its own runs in a savepoint of it), with the rows of `jobs` it read. */
async function rowsReadBy<R>(fn: (tx: Db) => Promise<R>): Promise<{ result: R; read: number }> {
  return t.db.transaction(async (drizzleTx) => {
    // A drizzle transaction is what the ledger's steps take as `db` (they nest as savepoints).
    const tx = drizzleTx as unknown as Db;
    const before = await jobRowsRead(tx);
    const result = await fn(tx);
    return { result, read: (await jobRowsRead(tx)) - before };
  });
}

beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
  const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000_000n });
  // A history of completed jobs, analysed while none is in flight (an installation after a quiet
  // night, or the bench after its seed): the planner then believes the poll index is empty.
  for (let i = 0; i < 300; i++) {
    const job = await acceptTestJob(t.db, { tenantId: tenant.id });
    await advanceJob(t.db, { jobId: job.id, actor: 'test', upstream: upstreamCompleted });
  }
  await t.sql`VACUUM ANALYZE jobs`;
  // Then a busy minute: 60 jobs in flight, and one whose outcome is unknown.
  inFlight = [];
  for (let i = 0; i < 60; i++) inFlight.push(await acceptTestJob(t.db, { tenantId: tenant.id }));
  unknown = await openTestJob(t.db, { tenantId: tenant.id });
  await markJobUnknown(t.db, {
    jobId: unknown.id,
    error: { code: 'UPSTREAM_TIMEOUT', message: 'no answer' },
  });
});
afterAll(async () => {
  expect((await reconcile(t.db)).discrepancies).toEqual([]);
  await t.close();
});

describe('steps that find a job by id, with jobs in flight and statistics that say there are none', () => {
  it('a completion (tollgate_complete_job) reads the job by primary key, not every job in flight', async () => {
    const target = inFlight[30] as Job;
    const { result, read } = await rowsReadBy((tx) =>
      tx.execute<{ id: string; status: string }>(
        sql`SELECT id, status FROM tollgate_complete_job(${target.id}, 'https://example.test/out.png', NULL, NULL)`,
      ),
    );
    expect([...result]).toEqual([{ id: target.id, status: 'completed' }]);
    // The row locked by primary key, then updated by primary key. The old statement read the 60
    // jobs in flight (and any dead index entries) to find this one.
    expect(read).toBeLessThanOrEqual(2);
  });

  it('recording a cancel answer reads the job by primary key', async () => {
    const target = inFlight[40] as Job;
    const { result, read } = await rowsReadBy((tx) => recordCancelAnswered(tx, target.id));
    expect(result?.cancelAnsweredAt).toBeInstanceOf(Date);
    expect(read).toBeLessThanOrEqual(2);
  });

  it('flagging an unknown job for review reads the job by primary key', async () => {
    const { read } = await rowsReadBy((tx) => flagUnknownJobForReview(tx, unknown.id));
    expect(read).toBeLessThanOrEqual(2);
    expect((await getJob(t.db, { jobId: unknown.id }))?.needsReview).toBe(true);
  });
});
