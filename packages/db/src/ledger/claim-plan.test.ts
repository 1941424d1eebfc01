import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../client';
import { IN_FLIGHT_JOB_STATUSES, type Job } from '../schema';
import { acceptTestJob, createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { advanceJob, claimJobsToPoll, reconcile } from './index';

// The poller's claim (claimJobsToPoll) walks the partial poll index in next_poll_at order. Every job
// that leaves that index (completed, or claimed again) leaves a dead entry behind until VACUUM, all
// of them due by the time the next claim runs. A plain index scan marks the dead entries it meets,
// so later claims skip them; the bitmap scan the planner picked on a table without statistics (a
// fresh installation, the bench) fetched every one of them again on every claim: 21,700 entries a
// claim after 13,500 jobs at 200 submits/s (bench/HISTORY.md, "Mid-rate cost"). On the code before,
// every claim here read all 305 entries, on Postgres 15 and 18.

let t: TestDatabase;
let due: Job[] = [];
const COMPLETED = 300;

const upstreamCompleted = {
  status: 'completed' as const,
  output: 'https://example.test/out.png',
  outputs: null,
  error: null,
  completedAt: null,
};

/** Poll-index entries handed to scans so far in this transaction. */
async function pollIndexEntriesRead(tx: Db): Promise<number> {
  const rows = await tx.execute<{ n: string }>(
    sql`SELECT pg_stat_get_xact_tuples_returned('jobs_poll_idx'::regclass)::text AS n`,
  );
  return Number(rows[0]?.n ?? 0);
}

beforeAll(async () => {
  t = await createTestDatabase({ max: 2 });
  const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000_000n });
  // Jobs that fell due and then completed: each leaves dead poll-index entries with a past
  // next_poll_at. No VACUUM and no ANALYZE (a young installation: the planner has no statistics).
  const accepted: Job[] = [];
  for (let i = 0; i < COMPLETED; i++) accepted.push(await acceptTestJob(t.db, { tenantId: tenant.id }));
  await t.sql`UPDATE jobs SET next_poll_at = now() - interval '1 minute'`;
  for (const job of accepted) {
    await advanceJob(t.db, { jobId: job.id, actor: 'test', upstream: upstreamCompleted });
  }
  due = [];
  for (let i = 0; i < 5; i++) {
    const job = await acceptTestJob(t.db, { tenantId: tenant.id });
    await t.sql`UPDATE jobs SET next_poll_at = now() - interval '1 second' WHERE id = ${job.id}`;
    due.push(job);
  }
});
afterAll(async () => {
  expect((await reconcile(t.db)).discrepancies).toEqual([]);
  await t.close();
});

/** `claimJobsToPoll` in a transaction of its own (committed), with the poll-index entries it read. */
async function claimCountingReads(): Promise<{ claimed: Job[]; read: number }> {
  return t.db.transaction(async (drizzleTx) => {
    // A drizzle transaction is what the ledger takes as `db`: the claim and both reads in one.
    const tx = drizzleTx as unknown as Db;
    const before = await pollIndexEntriesRead(tx);
    const claimed = await claimJobsToPoll(tx, { limit: 100 });
    return { claimed, read: (await pollIndexEntriesRead(tx)) - before };
  });
}

describe("the poller's claim with dead entries in the poll index", () => {
  it("claims the statuses of IN_FLIGHT_JOB_STATUSES, the poll index's predicate (one list)", async () => {
    const [fn] = await t.sql<{ body: string }[]>`
      SELECT prosrc AS body FROM pg_proc WHERE proname = 'tollgate_claim_jobs_to_poll'`;
    const list = IN_FLIGHT_JOB_STATUSES.map((s) => `'${s}'`).join(', ');
    expect(fn?.body).toContain(`status IN (${list})`);
  });

  it('claims the due jobs, and later claims skip the dead entries earlier ones met', async () => {
    const first = await claimCountingReads();
    expect(first.claimed.map((j) => j.id).sort()).toEqual(due.map((j) => j.id).sort());
    // It met the 5 due jobs and every dead entry (they are all due).
    expect(first.read).toBeGreaterThanOrEqual(COMPLETED + due.length);
    // Two more passes with nothing due. A bitmap scan read all 305 entries on every pass. An index
    // scan marks the dead entries it meets and later passes skip them: all of them here on Postgres
    // 15, about a third on the embedded Postgres 18 test cluster (why not all is not explained yet;
    // flushing the WAL first did not change it), so the bound is "fewer", not "none". The bench's
    // Postgres 18 read ~50 entries a claim (bench/HISTORY.md).
    expect((await claimCountingReads()).claimed).toEqual([]);
    const third = await claimCountingReads();
    expect(third.claimed).toEqual([]);
    expect(third.read).toBeLessThan(first.read);
  });
});
