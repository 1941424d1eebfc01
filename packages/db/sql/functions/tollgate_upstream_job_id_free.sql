-- Whether `p_upstream_job_id` may be linked to job `p_job_id` (no other job holds it). Takes a
-- transaction-scoped advisory lock on the upstream id first, so two transactions linking the same
-- id to two jobs at once are serialised: the second one waits, then (a new statement, a new
-- snapshot) sees the first one's link and is refused, instead of failing on the unique index.
-- Every writer of upstream_job_id calls this first (tollgate_capture_job; markJobUnknown and
-- captureJob's slow path, through linkUpstreamJobId in packages/db/src/ledger/capture.ts).
CREATE OR REPLACE FUNCTION tollgate_upstream_job_id_free(p_job_id text, p_upstream_job_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('tollgate:upstream-job:' || p_upstream_job_id, 0));
  RETURN NOT EXISTS (SELECT 1 FROM jobs WHERE upstream_job_id = p_upstream_job_id AND id <> p_job_id);
END;
$$;
