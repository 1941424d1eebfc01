// Claims: which instance works on which job next (the poller's due polls, the resolver's overdue
// jobs), taken with FOR UPDATE SKIP LOCKED so two gateway instances never work on the same job.
import { and, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { IN_FLIGHT_JOB_STATUSES, type Job, jobs } from '../schema';

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
 */
export async function claimJobsToPoll(
  db: Db,
  input: { limit: number; minAgeSeconds?: number },
): Promise<Job[]> {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, [...IN_FLIGHT_JOB_STATUSES]),
        sql`${jobs.upstreamJobId} IS NOT NULL`,
        sql`${jobs.nextPollAt} <= now()`,
        sql`NOT (${jobs.status} IN ('pending', 'processing') AND ${jobs.deadlineAt} < now())`,
        sql`${jobs.createdAt} <= now() - make_interval(secs => ${input.minAgeSeconds ?? 0})`,
      ),
    )
    .orderBy(jobs.nextPollAt)
    .limit(Math.max(1, input.limit))
    .for('update', { skipLocked: true });
  return db.transaction(async (tx) => {
    // An index scan in next_poll_at order, never a bitmap scan. Every job that left the poll index
    // (completed, claimed again) leaves a dead entry behind until VACUUM, all of them due by now. A
    // plain index scan marks each dead entry it meets as such (the next scans skip it) and stops at
    // `limit` live rows. A bitmap scan, which the planner picked on the bench's young database (no
    // statistics yet), fetched every dead entry's heap page on every claim and sorted: at 200
    // submits/s, 1,400 entries read a claim after 4,000 jobs and 21,700 after 13,500; with this, ~50
    // (bench/HISTORY.md, "Mid-rate cost"). claim-plan.test.ts pins it (later claims read fewer
    // entries than the first; the bitmap scan read them all every time).
    await tx.execute(sql`SET LOCAL enable_bitmapscan = off`);
    return tx
      .update(jobs)
      .set({
        pollAttempts: sql`${jobs.pollAttempts} + 1`,
        nextPollAt: sql`now() + make_interval(secs => least(300, 5 * power(2, least(${jobs.pollAttempts}, 10))))`,
      })
      .where(inArray(jobs.id, due))
      .returning();
  });
}
