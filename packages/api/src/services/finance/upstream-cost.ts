import { type SQL, sql } from 'drizzle-orm';

/**
 * SQL: true when Pixelbyte refunded the operator for the job `alias` (a `jobs` row): it failed or was
 * cancelled upstream. Not for a job tollgate ended on its own while it still ran upstream (the
 * deadline sweep, an admin's refund: its error carries ENDED_BY_TOLLGATE, which no upstream error can,
 * as upstream errors are stored as `{ code, message }` only): Pixelbyte kept that money. The
 * definition is the SQL function of migration 0017, the one the usage roll-up's triggers use, so the
 * reconciliation's totals and the reports cannot drift apart.
 */
export function upstreamRefundedTheOperator(alias: string): SQL {
  return sql.raw(`tollgate_upstream_refunded_the_operator(${alias}.status, ${alias}.error)`);
}
