-- Custom SQL: one upstream job is linked to at most one of our jobs (issue 23, item 1), and a job
-- whose cancel Pixelbyte answered `cancelled` but which then completes is flagged (item 3).
--
-- Before: when Pixelbyte's submit answer named an upstream job another of our jobs already held,
-- tollgate_capture_job captured the second job too (the tenant paid twice for one upstream job) and
-- reconcile said nothing. Now `jobs.upstream_job_id` is unique (0013) and the capture checks first:
-- a taken id is not stored, the job is not captured; it is left `unknown` with its hold open,
-- `needs_review`, the id kept in `collided_upstream_job_id` (reconcile lists it), and it is resolved
-- like any unknown outcome (released after UNKNOWN_JOB_GRACE, or by an admin).

-- Whether `p_upstream_job_id` may be linked to job `p_job_id` (no other job holds it). Takes a
-- transaction-scoped advisory lock on the upstream id first, so two transactions linking the same
-- id to two jobs at once are serialised: the second one waits, then (a new statement, a new
-- snapshot) sees the first one's link and is refused, instead of failing on the unique index.
-- Every writer of upstream_job_id calls this first (tollgate_capture_job; markJobUnknown and
-- captureJob's slow path in packages/db/src/ledger/jobs.ts).
CREATE FUNCTION tollgate_upstream_job_id_free(p_job_id text, p_upstream_job_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('tollgate:upstream-job:' || p_upstream_job_id, 0));
  RETURN NOT EXISTS (SELECT 1 FROM jobs WHERE upstream_job_id = p_upstream_job_id AND id <> p_job_id);
END;
$$;
--> statement-breakpoint

-- 0006's tollgate_capture_job (no later migration replaced it) with the collision check: a
-- `submitting`/`unknown` job is captured only if the upstream id it is captured with is not
-- another job's. Otherwise the job becomes (or stays) `unknown`, flagged, and that row is returned
-- (status `unknown`, nothing captured) so the caller can tell the tenant; its grace period starts
-- when it turns unknown (an `unknown` job keeps its `updated_at`).
CREATE OR REPLACE FUNCTION tollgate_capture_job(
  p_job_id text, p_txn_id text, p_upstream_job_id text, p_upstream_cost bigint,
  p_estimated_completion_time timestamptz, p_actor text
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
  v_amount bigint;
  v_held bigint;
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
  UPDATE holds SET status = 'captured', resolved_at = now(), captured_micro_cents = amount_micro_cents
    WHERE id = v_job.hold_id AND status = 'open'
    RETURNING amount_micro_cents INTO v_amount;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: job % (%) has no open hold %', v_job.id, v_job.status, v_job.hold_id;
  END IF;
  -- held_micro_cents >= 0 is a CHECK: a balance holding less than the hold raises here.
  UPDATE tenant_balances SET held_micro_cents = held_micro_cents - v_amount, updated_at = now()
    WHERE tenant_id = v_job.tenant_id
    RETURNING held_micro_cents INTO v_held;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: no balance row for tenant %', v_job.tenant_id;
  END IF;
  INSERT INTO ledger_transactions (id, kind, tenant_id, hold_id, job_id, idempotency_key,
      request_fingerprint, reason, actor)
    VALUES (p_txn_id, 'capture', v_job.tenant_id, v_job.hold_id, v_job.id, 'capture:' || v_job.hold_id,
      format('{"capturedMicroCents":"%s","holdId":"%s","op":"capture"}', v_amount, v_job.hold_id),
      'accepted upstream', coalesce(p_actor, 'system:job:' || v_job.id));
  INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
    VALUES (p_txn_id, 'tenant_held', v_job.tenant_id, -v_amount, v_held),
           (p_txn_id, 'platform_revenue', NULL, v_amount, NULL);
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
  RETURN NEXT v_job;
END;
$$;
--> statement-breakpoint

-- 0006's tollgate_complete_job, plus: a job whose cancel Pixelbyte answered `cancelled`
-- (cancel_answered_at) and that completes after all is flagged needs_review. The tenant is charged
-- (the upstream truth: the job ran and the operator paid); finance decides about a goodwill credit.
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
  -- active_jobs >= 0 is a CHECK: freeing a slot that was never taken raises here.
  UPDATE tenant_balances SET active_jobs = active_jobs - 1, updated_at = now()
    WHERE tenant_id = v_job.tenant_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: no balance row for tenant %', v_job.tenant_id;
  END IF;
  RETURN NEXT v_job;
END;
$$;
