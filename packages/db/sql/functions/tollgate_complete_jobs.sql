-- Group commit of completions: entries {jobId, output, outputs, completedAt}. Same lock order as
-- tollgate_capture_jobs: every job first (by id), then tollgate_complete_job per entry ordered by tenant.
CREATE OR REPLACE FUNCTION tollgate_complete_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  PERFORM tollgate_lock_jobs(p_jobs);
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_complete_job(
      e->>'jobId', e->>'output', nullif(e->'outputs', 'null'::jsonb),
      (e->>'completedAt')::timestamptz);
  END LOOP;
END;
$$;
