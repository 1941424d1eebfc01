import { ENDED_BY_TOLLGATE } from '@tollgate/db/ledger';
import { type SQL, sql } from 'drizzle-orm';

/**
 * SQL: true when Pixelbyte refunded the operator for the job `alias` (a `jobs` row): it failed or was
 * cancelled upstream. Not for a job tollgate ended on its own while it still ran upstream (the
 * deadline sweep, an admin's refund: its error carries ENDED_BY_TOLLGATE, which no upstream error can,
 * as upstream errors are stored as `{ code, message }` only): Pixelbyte kept that money. The one
 * definition the usage report's upstream cost and the reconciliation's totals use.
 */
export function upstreamRefundedTheOperator(alias: string): SQL {
  return sql.raw(
    `(${alias}.status IN ('failed', 'cancelled') AND coalesce(${alias}.error->>'source', '') <> '${ENDED_BY_TOLLGATE.source}')`,
  );
}
