-- completeJob's happy path: a `pending`/`processing` job becomes `completed` (its money was captured
-- when it was accepted) and frees its concurrency slot. A completion after a `cancelled` answer is
-- flagged for review. The slot is freed by tollgate_free_job_slot (never below zero). No row: the
-- job was not pending/processing.
-- The job is found by its primary key alone and its status checked under the row lock (as
-- tollgate_capture_job does): `WHERE id = … AND status IN ('pending', 'processing')` matches the
-- predicate of the partial poll index (jobs_poll_idx, in-flight jobs), and once the table's
-- statistics say in-flight jobs are rare (most jobs completed, as in any installation that has run
-- a while) the planner scanned that whole index for the one id: 1,158 buffers and 1,358 rows
-- filtered out per completion at 265 submits/s on a 1M-line ledger, against ~35 by primary key.
CREATE OR REPLACE FUNCTION tollgate_complete_job(
  p_job_id text, p_output text, p_outputs jsonb, p_completed_at timestamptz
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
BEGIN
  SELECT * INTO v_job FROM jobs WHERE id = p_job_id FOR UPDATE;
  IF NOT FOUND OR v_job.status NOT IN ('pending', 'processing') THEN
    RETURN;
  END IF;
  UPDATE jobs SET
      status = 'completed',
      output = p_output,
      outputs = p_outputs,
      error = NULL,
      needs_review = needs_review OR cancel_answered_at IS NOT NULL,
      completed_at = coalesce(p_completed_at, now()),
      next_poll_at = NULL,
      updated_at = now()
    WHERE id = p_job_id
    RETURNING * INTO v_job;
  PERFORM tollgate_free_job_slot(v_job.tenant_id);
  RETURN NEXT v_job;
END;
$$;
