-- Group commit of captures: entries {jobId, txnId, upstreamJobId, upstreamCost (string or null),
-- estimatedCompletionTime (ISO or null), actor (or null)}. Locks every job first (tollgate_lock_jobs,
-- by id), then runs tollgate_capture_job per entry ordered by the job's tenant, so two groups lock
-- jobs, then balance rows, in one order.
CREATE OR REPLACE FUNCTION tollgate_capture_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  PERFORM tollgate_lock_jobs(p_jobs);
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_capture_job(
      e->>'jobId', e->>'txnId', e->>'upstreamJobId', (e->>'upstreamCost')::bigint,
      (e->>'estimatedCompletionTime')::timestamptz, e->>'actor');
  END LOOP;
END;
$$;
