// Job-level operations (open.ts, capture.ts, settle.ts, advance.ts): money and job state change
// together, in one transaction each. These are the calls the gateway makes around the upstream
// submit (which itself happens outside any transaction). Every operation is idempotent and a job
// never moves backwards.
//
// This module: the `jobs` row as every job step handles it: terminal states, row mapping (a
// function's snake_case row → the typed Job), lock and save under the row lock, and freeing the
// tenant's job slot.
import { eq, getTableColumns, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { type Job, type JobStatus, jobs, TERMINAL_JOB_STATUSES } from '../schema';
import type { Tx } from './internal';

export function isTerminal(status: JobStatus): boolean {
  return (TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

/** Default time a job may stay non-terminal before reconcile reports it overdue. */
export const DEFAULT_MAX_DURATION_SECONDS = 3_600;
// The first poll after upstream accepted a job is due 5 s later (set by tollgate_capture_job, migration
// 0006); later polls back off (see claimJobsToPoll).

export interface JobError {
  code: string;
  message: string;
}

/**
 * Stored in the `error` of a job tollgate ended on its own while it still ran upstream (deadline,
 * an admin's decision): Pixelbyte never failed it, so it kept the operator's money (finance's upstream
 * cost). Upstream errors are stored as `{ code, message }` only, so Pixelbyte cannot write it.
 */
export const ENDED_BY_TOLLGATE = { source: 'tollgate' } as const;

/** A `jobs` row as Postgres returned it (snake_case, driver values) → the typed Job Drizzle selects give. */
const JOB_COLUMNS = Object.entries(getTableColumns(jobs));

export function jobFromRow(row: Record<string, unknown>): Job {
  const job: Record<string, unknown> = {};
  for (const [key, column] of JOB_COLUMNS) {
    const value = row[column.name];
    job[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return job as Job;
}

/**
 * The job row locked by primary key alone (undefined when there is none); callers check its status
 * afterwards. A status condition beside the id (`status IN ('pending', 'processing')`,
 * `status = 'unknown'`) implies the partial poll index's predicate, and with statistics that say
 * in-flight jobs are rare the planner scans that index, every job in flight, for the one id
 * (migration 0023, packages/db/README.md).
 */
export async function lockJobIfAny(tx: Tx, jobId: string): Promise<Job | undefined> {
  const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for('update');
  return job;
}

export async function lockJob(tx: Tx, jobId: string): Promise<Job> {
  const job = await lockJobIfAny(tx, jobId);
  // Job ids come from openJob: an unknown one is a caller bug, not a business outcome.
  if (!job) throw new Error(`job ${jobId} not found`);
  return job;
}

export async function saveJob(tx: Tx, jobId: string, set: PgUpdateSetSource<typeof jobs>): Promise<Job> {
  const [job] = await tx
    .update(jobs)
    .set({ ...set, updatedAt: sql`now()` })
    .where(eq(jobs.id, jobId))
    .returning();
  if (!job) throw new Error(`bug: locked job ${jobId} vanished`);
  return job;
}

/**
 * A job reached a terminal state: free its concurrency slot (exactly once, under the job row lock),
 * with `tollgate_free_job_slot`, the one implementation (never below zero; tollgate_complete_job and
 * tollgate_capture_hold call it too).
 */
export async function freeJobSlot(tx: Tx, tenantId: string): Promise<void> {
  await tx.execute(sql`SELECT tollgate_free_job_slot(${tenantId})`);
}

/** The actor of a job step nobody named: the job itself. */
export const jobActor = (job: Job, actor: string | undefined) => actor ?? `system:job:${job.id}`;
