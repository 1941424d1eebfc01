-- Custom SQL: the job operations on the submit path, each as ONE statement (a function call), so
-- that a job costs the gateway one round trip per step instead of 5-6, and the tenant's balance row
-- is locked for one statement and its commit instead of across several round trips. (Measured in
-- bench/: socket writes to Postgres were ~40% of the gateway's CPU when it ran 17 statements a job.)
--
-- The TypeScript wrappers in packages/db/src/ledger/jobs.ts call these and own the slow paths:
-- diagnosing a refusal, idempotent replays, and jobs in unusual states. Each function changes
-- nothing and returns no row when it does not apply; a bug (an invariant that does not hold)
-- raises, which rolls the whole statement back.
--
-- The money SQL lives in one place: `tollgate_reserve` is the single conditional UPDATE of a hold
-- (money and limits), used by tollgate_open_job and by the TypeScript `reserve` (bare holds).

-- Moves `p_amount` from available to held if the tenant is active, has the money and is within
-- every limit; bumps the limit counters in the same statement (resetting the day / minute window
-- when it rolled over on the DB clock). No row = refused (the caller diagnoses which check failed).
CREATE FUNCTION tollgate_reserve(p_tenant_id text, p_amount bigint)
RETURNS TABLE (available_micro_cents bigint, held_micro_cents bigint)
LANGUAGE sql AS $$
  WITH clock AS (
    SELECT (now() AT TIME ZONE 'UTC')::date AS today, date_trunc('minute', now(), 'UTC') AS minute
  )
  UPDATE tenant_balances b SET
    available_micro_cents = b.available_micro_cents - p_amount,
    held_micro_cents = b.held_micro_cents + p_amount,
    active_jobs = b.active_jobs + 1,
    spend_today_micro_cents =
      CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents + p_amount ELSE p_amount END,
    spend_day = c.today,
    rate_window_count = CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count + 1 ELSE 1 END,
    rate_window_start = c.minute,
    updated_at = now()
  FROM tenants t, clock c
  WHERE b.tenant_id = p_tenant_id
    AND t.id = b.tenant_id
    AND t.status = 'active'
    AND b.available_micro_cents >= p_amount
    AND (t.max_concurrent_jobs IS NULL OR b.active_jobs < t.max_concurrent_jobs)
    AND (t.daily_spend_limit_micro_cents IS NULL OR
         (CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents ELSE 0 END)
           <= t.daily_spend_limit_micro_cents - p_amount)
    AND (t.requests_per_minute IS NULL OR
         (CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END) < t.requests_per_minute)
  RETURNING b.available_micro_cents, b.held_micro_cents
$$;
--> statement-breakpoint

-- openJob's happy path: reserve, then the job row (`submitting`), its hold, and the hold's ledger
-- transaction (available −x, held +x). Returns the new job; no row when the idempotency key is
-- already taken (replay / conflict: the caller reads that job) or the reserve refused (the caller
-- diagnoses). A concurrent request inserting the same key first makes the job INSERT raise
-- unique_violation, which rolls everything back; the caller retries and then finds that job.
CREATE FUNCTION tollgate_open_job(
  p_job_id text, p_hold_id text, p_txn_id text, p_tenant_id text, p_model text, p_input jsonb,
  p_quote bigint, p_list_cost bigint, p_price_version text, p_tags text[], p_webhook_url text,
  p_idempotency_key text, p_fingerprint text, p_max_duration_seconds integer, p_actor text,
  p_hold_fingerprint text
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_available bigint;
  v_held bigint;
  v_job jobs;
BEGIN
  IF p_idempotency_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM jobs WHERE tenant_id = p_tenant_id AND idempotency_key = p_idempotency_key
  ) THEN
    RETURN;
  END IF;
  SELECT r.available_micro_cents, r.held_micro_cents INTO v_available, v_held
    FROM tollgate_reserve(p_tenant_id, p_quote) r;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  INSERT INTO jobs (id, tenant_id, model, input, status, cost_micro_cents, list_cost_micro_cents,
      price_version, tags, webhook_url, idempotency_key, fingerprint, hold_id, deadline_at)
    VALUES (p_job_id, p_tenant_id, p_model, p_input, 'submitting', p_quote, p_list_cost,
      p_price_version, p_tags, p_webhook_url, p_idempotency_key, p_fingerprint, p_hold_id,
      now() + make_interval(secs => p_max_duration_seconds))
    RETURNING * INTO v_job;
  INSERT INTO holds (id, tenant_id, job_id, amount_micro_cents)
    VALUES (p_hold_id, p_tenant_id, p_job_id, p_quote);
  INSERT INTO ledger_transactions (id, kind, tenant_id, hold_id, job_id, idempotency_key,
      request_fingerprint, actor)
    VALUES (p_txn_id, 'hold', p_tenant_id, p_hold_id, p_job_id, 'hold:job:' || p_job_id,
      p_hold_fingerprint, p_actor);
  INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
    VALUES (p_txn_id, 'tenant_available', p_tenant_id, -p_quote, v_available),
           (p_txn_id, 'tenant_held', p_tenant_id, p_quote, v_held);
  RETURN NEXT v_job;
END;
$$;
--> statement-breakpoint

-- Upstream accepted the job: capture its whole hold (held −x, platform revenue +x; the tenant is
-- charged the quote), store the upstream id and cost, job → `pending`, first poll in 5 s. Applies
-- only to a job still `submitting` or `unknown` (locked here); any other state → no row, nothing
-- changed (the caller's slow path decides). The request fingerprint is the one the TypeScript
-- `captureInTx` writes (canonical JSON, keys sorted), so a later capture of the hold replays it.
CREATE FUNCTION tollgate_capture_job(
  p_job_id text, p_txn_id text, p_upstream_job_id text, p_upstream_cost bigint,
  p_estimated_completion_time timestamptz, p_actor text
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
  v_amount bigint;
  v_held bigint;
BEGIN
  SELECT * INTO v_job FROM jobs WHERE id = p_job_id FOR UPDATE;
  IF NOT FOUND OR v_job.status NOT IN ('submitting', 'unknown') THEN
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
      upstream_job_id = coalesce(p_upstream_job_id, upstream_job_id),
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

-- Upstream reports the job completed: job `pending`/`processing` → `completed` with its output,
-- and its concurrency slot freed (active_jobs − 1), in one statement. Any other state → no row,
-- nothing changed (the caller's slow path: capture first, or already terminal).
CREATE FUNCTION tollgate_complete_job(
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
