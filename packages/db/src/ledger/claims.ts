// Claims: which instance works on which job next (the poller's due polls, the resolver's overdue
// jobs), taken with FOR UPDATE SKIP LOCKED so two gateway instances never work on the same job.
import { and, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { type Job, jobs } from '../schema';
import { preparedRows } from './internal';
import { jobFromRow } from './job-row';

/** How long a claimed overdue job is left to its claimer before another instance may take it. */
const OVERDUE_CLAIM_SECONDS = 60;

/**
 * Claims up to `limit` `pending`/`processing` jobs past their deadline (DB clock), skipping rows
 * another instance holds (FOR UPDATE SKIP LOCKED), and pushes their next_poll_at out so that neither
 * the poller nor another resolver takes them while the claimer reads upstream (outside any
 * transaction) and then calls advanceJob or expireOverdueJob. Only jobs due for a poll are taken (a
 * job a poller claimed before its deadline is left to it), so enforcement may lag by one poll backoff
 * (≤ 5 min) plus one resolver interval; the poller no longer claims overdue jobs (claimJobsToPoll).
 */
export async function claimOverdueJobs(db: Db, input: { limit: number }): Promise<Job[]> {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, ['pending', 'processing']),
        sql`${jobs.deadlineAt} < now()`,
        sql`(${jobs.nextPollAt} IS NULL OR ${jobs.nextPollAt} <= now())`,
      ),
    )
    .orderBy(jobs.deadlineAt)
    .limit(Math.max(1, input.limit))
    .for('update', { skipLocked: true });
  return db
    .update(jobs)
    .set({ nextPollAt: sql`now() + make_interval(secs => ${OVERDUE_CLAIM_SECONDS})` })
    .where(inArray(jobs.id, due))
    .returning();
}

/**
 * Claims up to `limit` non-terminal jobs with an upstream id that are due for a poll
 * (next_poll_at ≤ now()), skipping rows another instance holds (FOR UPDATE SKIP LOCKED), and
 * pushes their next_poll_at out with exponential backoff (5 s, 10 s, … capped at 5 min), so several
 * gateway instances never poll the same job at the same time. A `pending`/`processing` job past its
 * deadline is left to claimOverdueJobs: the poller claims every 2 s what is due and would push it out
 * again before the resolver's pass (every minute) saw it due, keeping it overdue for hours.
 * One statement, tollgate_claim_jobs_to_poll (sql/functions/): it walks the poll index in order, never
 * with a bitmap scan (its header says why; claim-plan.test.ts pins it).
 */
export async function claimJobsToPoll(
  db: Db,
  input: { limit: number; minAgeSeconds?: number },
): Promise<Job[]> {
  const rows = await preparedRows<Record<string, unknown>>(
    db,
    sql`SELECT * FROM tollgate_claim_jobs_to_poll(${Math.max(1, input.limit)}::int, ${input.minAgeSeconds ?? 0}::int)`,
  );
  return rows.map(jobFromRow);
}
