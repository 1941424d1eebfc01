// Reads of jobs and holds (no money moves).
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { holds, IN_FLIGHT_JOB_STATUS_LIST, type Job, type JobStatus, jobs } from '../schema';
import { cursorTime, decodeCursor, encodeCursor, preparedRows } from './internal';
import { jobFromRow } from './job-row';

/**
 * A job by id; with `tenantId`, only that tenant's (another tenant's job is "not found"). A prepared
 * statement: `jobs.get` is what tenants call most, and Drizzle's query builder cost more gateway CPU
 * than the read itself.
 */
export async function getJob(db: Db, input: { tenantId?: string; jobId: string }): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    db,
    input.tenantId === undefined
      ? sql`SELECT * FROM jobs WHERE id = ${input.jobId}`
      : sql`SELECT * FROM jobs WHERE id = ${input.jobId} AND tenant_id = ${input.tenantId}`,
  );
  return row === undefined ? undefined : jobFromRow(row);
}

/**
 * Seconds (DB clock) until the first of a tenant's jobs in progress is expected to end, from the
 * upstream's `estimatedCompletionTime`: ≤ 0 when one is already late, null when none of them has an
 * estimate (or none is in progress). The hint a CONCURRENT_JOBS_LIMIT refusal gives for a retry.
 */
export async function secondsUntilFirstJobEnds(db: Db, tenantId: string): Promise<number | null> {
  const [row] = await preparedRows<{ seconds: number | null }>(
    db,
    sql`SELECT extract(epoch FROM min(estimated_completion_time) - now())::float8 AS seconds
          FROM jobs
         WHERE tenant_id = ${tenantId} AND status IN (${IN_FLIGHT_JOB_STATUS_LIST})`,
  );
  return row?.seconds ?? null;
}

export interface ListJobsInput {
  /** Omitted = all tenants (admin). */
  tenantId?: string;
  status?: JobStatus;
  model?: string;
  cursor?: string;
  limit: number;
}

/** Jobs newest first; `nextCursor` is opaque over (created_at, id). An unreadable cursor gives an empty page. */
export async function listJobs(
  db: Db,
  input: ListJobsInput,
): Promise<{ items: Job[]; nextCursor: string | null }> {
  const limit = Math.max(1, Math.min(input.limit, 500));
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  if (input.cursor !== undefined && !cursor) return { items: [], nextCursor: null };
  const page = await db
    .select({ job: jobs, ts: cursorTime(jobs.createdAt) })
    .from(jobs)
    .where(
      and(
        input.tenantId === undefined ? undefined : eq(jobs.tenantId, input.tenantId),
        input.status === undefined ? undefined : eq(jobs.status, input.status),
        input.model === undefined ? undefined : eq(jobs.model, input.model),
        cursor
          ? sql`(${jobs.createdAt}, ${jobs.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1);
  const items = page.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => r.job),
    nextCursor: page.length > limit && last ? encodeCursor(last.ts, last.job.id) : null,
  };
}

/** A hold as stored (for tests, admin tools and reconciliation). */
export async function getHold(db: Db, holdId: string) {
  const [h] = await db.select().from(holds).where(eq(holds.id, holdId));
  return h;
}
