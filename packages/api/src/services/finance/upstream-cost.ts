import { type SQL, sql } from 'drizzle-orm';

/**
 * The job error codes of failures tollgate decided on its own, while the job was still running
 * upstream: Pixelbyte never failed it, so it kept the operator's money (finance reviews them,
 * `needs_review`). DEADLINE_EXCEEDED: the deadline sweep (expireOverdueJob); RESOLVED_BY_ADMIN: an
 * admin refunded a pending/processing job (admin.jobs.resolve).
 */
const FAILED_BY_TOLLGATE = ['DEADLINE_EXCEEDED', 'RESOLVED_BY_ADMIN'] as const;

/**
 * SQL: true when Pixelbyte refunded the operator for the job `alias` (a `jobs` row): it failed or was
 * cancelled upstream. Not for the failures tollgate decided itself (FAILED_BY_TOLLGATE). The one
 * definition the usage report's upstream cost and the reconciliation's totals use.
 */
export function upstreamRefundedTheOperator(alias: string): SQL {
  const codes = FAILED_BY_TOLLGATE.map((c) => `'${c}'`).join(', ');
  return sql.raw(
    `(${alias}.status IN ('failed', 'cancelled') AND coalesce(${alias}.error->>'code', '') NOT IN (${codes}))`,
  );
}
