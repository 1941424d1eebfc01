-- Pixelbyte refunded the operator for a job that failed or was cancelled upstream; not for one
-- tollgate ended on its own while it ran upstream (the deadline sweep, an admin's refund: its error
-- carries ENDED_BY_TOLLGATE = { source: 'tollgate' }, packages/db/src/ledger/job-row.ts). The one
-- definition the roll-up, the reconciliation and the reports use.
CREATE OR REPLACE FUNCTION tollgate_upstream_refunded_the_operator(p_status job_status, p_error jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p_status IN ('failed', 'cancelled') AND coalesce(p_error->>'source', '') <> 'tollgate', false)
$$;
