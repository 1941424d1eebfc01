-- captureJob's happy path: the job (`submitting`/`unknown`) was accepted upstream, so its whole hold
-- is captured (tollgate_capture_hold: held −x, platform_revenue +x) and the job becomes `pending`
-- with its upstream id and cost. Collision check: it is captured only if the upstream id it is
-- captured with is not another job's (tollgate_upstream_job_id_free); otherwise the job becomes (or
-- stays) `unknown`, flagged, and that row is returned (status `unknown`, nothing captured) so the
-- caller can tell the tenant; its grace period starts when it turns unknown (an `unknown` job keeps
-- its `updated_at`). No row: the job is not in a capturable state (the caller's slow path decides).
CREATE OR REPLACE FUNCTION tollgate_capture_job(
  p_job_id text, p_txn_id text, p_upstream_job_id text, p_upstream_cost bigint,
  p_estimated_completion_time timestamptz, p_actor text
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
  v_upstream text;
BEGIN
  SELECT * INTO v_job FROM jobs WHERE id = p_job_id FOR UPDATE;
  IF NOT FOUND OR v_job.status NOT IN ('submitting', 'unknown') THEN
    RETURN;
  END IF;
  v_upstream := coalesce(p_upstream_job_id, v_job.upstream_job_id);
  IF v_upstream IS NOT NULL AND v_upstream IS DISTINCT FROM v_job.upstream_job_id
     AND NOT tollgate_upstream_job_id_free(v_job.id, v_upstream) THEN
    UPDATE jobs SET
        status = 'unknown',
        needs_review = true,
        collided_upstream_job_id = v_upstream,
        error = jsonb_build_object('code', 'UPSTREAM_JOB_ID_TAKEN', 'message',
          'Pixelbyte answered with an upstream job already linked to another job; not charged, the outcome is under review'),
        updated_at = CASE WHEN status = 'submitting' THEN now() ELSE updated_at END
      WHERE id = v_job.id
      RETURNING * INTO v_job;
    RETURN NEXT v_job;
    RETURN;
  END IF;
  -- The job first, then its capture transaction (migration 0020): the transaction's roll-up trigger
  -- (tollgate_usage_upstream_of_transaction) then reads the upstream cost already set and adds it
  -- once. In the other order it counted the capture as `upstream cost unknown` and the job's UPDATE
  -- (tollgate_usage_upstream_of_job) moved it back: two roll-up upserts per table instead of one.
  -- The job row is locked since the first statement; the hold, then the balance, are locked by the
  -- capture: the lock order (job, hold, balance) is unchanged.
  UPDATE jobs SET
      status = 'pending',
      upstream_job_id = v_upstream,
      upstream_cost_micro_cents = p_upstream_cost,
      cost_mismatch = p_upstream_cost IS NOT NULL AND p_upstream_cost <> list_cost_micro_cents,
      estimated_completion_time = p_estimated_completion_time,
      error = NULL,
      next_poll_at = now() + make_interval(secs => 5),
      poll_attempts = 0,
      updated_at = now()
    WHERE id = v_job.id
    RETURNING * INTO v_job;
  PERFORM 1 FROM tollgate_capture_hold(v_job.hold_id, NULL, p_txn_id, 'accepted upstream',
    coalesce(p_actor, 'system:job:' || v_job.id));
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: job % has no open hold %', v_job.id, v_job.hold_id;
  END IF;
  RETURN NEXT v_job;
END;
$$;
