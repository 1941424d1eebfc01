-- completeJob's happy path: a `pending`/`processing` job becomes `completed` (its money was captured
-- when it was accepted) and frees its concurrency slot. A completion after a `cancelled` answer is
-- flagged for review. The slot is freed with greatest(…, 0): `active_jobs` could drift below the true
-- count (a bug, a hand edit, a restore) and a plain decrement then broke the CHECK (active_jobs >= 0),
-- so the job could never end; reconcile still reports the drift (ACTIVE_JOBS_MISMATCH). No row: the
-- job was not pending/processing.
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
