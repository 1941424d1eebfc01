-- Freeing a job's concurrency slot never goes below zero. `active_jobs` could drift below the true
-- count (a bug, a hand edit, a restore): the decrement at the job's end then broke the CHECK
-- (active_jobs >= 0) and the job could never complete, fail or be cancelled — every poll retried
-- and failed forever, with the tenant's money held. The slot is now freed with greatest(…, 0);
-- reconcile still reports the drift (ACTIVE_JOBS_MISMATCH) while it lasts. Body as in 0014 (which
-- flags a completion after a `cancelled` answer), only the decrement changed.
CREATE OR REPLACE FUNCTION tollgate_complete_job(
  p_job_id text, p_output text, p_outputs jsonb, p_completed_at timestamptz
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
BEGIN
  UPDATE jobs SET
      status = 'completed',
      output = p_output,
      outputs = p_outputs,
      error = NULL,
      needs_review = needs_review OR cancel_answered_at IS NOT NULL,
      completed_at = coalesce(p_completed_at, now()),
      next_poll_at = NULL,
      updated_at = now()
    WHERE id = p_job_id AND status IN ('pending', 'processing')
    RETURNING * INTO v_job;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  UPDATE tenant_balances SET active_jobs = greatest(active_jobs - 1, 0), updated_at = now()
    WHERE tenant_id = v_job.tenant_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: no balance row for tenant %', v_job.tenant_id;
  END IF;
  RETURN NEXT v_job;
END;
$$;
