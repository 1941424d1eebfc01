-- openJob's happy path: reserve, then the job row (`submitting`), its hold, and the hold's ledger
-- transaction (available −x, held +x). Returns the new job; no row when the idempotency key is
-- already taken (replay / conflict: the caller reads that job) or the reserve refused (the caller
-- diagnoses). A concurrent request inserting the same key first makes the job INSERT raise
-- unique_violation, which rolls everything back; the caller retries and then finds that job.
CREATE OR REPLACE FUNCTION tollgate_open_job(
  p_job_id text, p_hold_id text, p_txn_id text, p_tenant_id text, p_model text, p_input jsonb,
  p_quote bigint, p_list_cost bigint, p_price_version text, p_tags text[], p_webhook_url text,
  p_idempotency_key text, p_fingerprint text, p_max_duration_seconds integer, p_actor text
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
      tollgate_fingerprint('hold', p_job_id, p_quote), p_actor);
  INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
    VALUES (p_txn_id, 'tenant_available', p_tenant_id, -p_quote, v_available),
           (p_txn_id, 'tenant_held', p_tenant_id, p_quote, v_held);
  RETURN NEXT v_job;
END;
$$;
