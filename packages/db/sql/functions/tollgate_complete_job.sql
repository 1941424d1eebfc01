-- completeJob's happy path: a `pending`/`processing` job becomes `completed` (its money was captured
-- when it was accepted) and frees its concurrency slot. A completion after a `cancelled` answer is
-- flagged for review. The slot is freed by tollgate_free_job_slot (never below zero). No row: the
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
  PERFORM tollgate_free_job_slot(v_job.tenant_id);
  RETURN NEXT v_job;
END;
$$;
