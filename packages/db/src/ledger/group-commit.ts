// Job steps grouped with concurrent ones into one statement (group commit, ../group.ts): the plumbing
// openJob, captureJob and advanceJob share.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';
import { groupStatements } from '../group';
import type { Job } from '../schema';
import { preparedRows } from './internal';
import { jobFromRow } from './job-row';

// Group commit (../group.ts): per pool and per step, up to GROUP_IN_FLIGHT statements at once;
// what arrives while they are busy goes next as one statement of at most MAX_GROUP entries.
const GROUP_IN_FLIGHT = 1;
const MAX_GROUP = 100;

/** Group entries as JSON for the `tollgate_*_jobs` functions (bigints as exact decimal strings). */
function groupJson(entries: readonly unknown[]): string {
  return JSON.stringify(entries, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A job step grouped with concurrent ones (migration 0008): `alone` is its single-entry statement,
 * `groupFn` the SQL function that runs a JSON array of such entries in one statement and returns the
 * `jobs` rows it changed. Per pool and step: GROUP_IN_FLIGHT statements at once; what arrives
 * meanwhile goes together, whatever the tenants.
 */
export function groupedJobStep<E extends { jobId: string }, Other = never>(
  alone: (db: Db, entry: E) => Promise<Job | Other | undefined>,
  groupFn: 'tollgate_open_jobs' | 'tollgate_capture_jobs' | 'tollgate_complete_jobs',
) {
  return groupStatements<E, Job | Other>({
    maxInFlight: GROUP_IN_FLIGHT,
    maxGroup: MAX_GROUP,
    alone,
    keyOf: (e) => e.jobId,
    rowAnswers: 'first',
    together: (db, entries) =>
      preparedRows<Record<string, unknown>>(
        db,
        sql`SELECT * FROM ${sql.raw(groupFn)}(${groupJson(entries)}::jsonb)`,
      ),
    fromRow: jobFromRow,
  });
}
