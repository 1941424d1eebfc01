-- The capture of a hold, the ONE implementation of that movement (submit's tollgate_capture_job,
-- admin resolve and the bare-hold `capture` all come here): hold → `captured` with `p_amount`
-- (NULL = the whole hold), and one ledger transaction `capture:<hold>` with the lines
-- tenant_held −h, platform_revenue +c, tenant_available +(h − c) (zero lines are not written: a
-- whole capture writes two). The part not captured goes back to available and is un-counted from
-- today's spend if the hold was made today. A bare hold (no job) frees its concurrency slot here; a
-- job's slot is freed when the job ends. Returns one row; none when the hold is not open or
-- `p_amount` exceeds it (nothing changed: the caller reads why).
CREATE OR REPLACE FUNCTION tollgate_capture_hold(
  p_hold_id text, p_amount bigint, p_txn_id text, p_reason text, p_actor text
) RETURNS TABLE (tenant_id text, job_id text, captured_micro_cents bigint, released_micro_cents bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_hold holds;
  v_released bigint;
  v_available bigint;
  v_held bigint;
BEGIN
  UPDATE holds h SET status = 'captured', resolved_at = now(),
      captured_micro_cents = coalesce(p_amount, h.amount_micro_cents)
    WHERE h.id = p_hold_id AND h.status = 'open' AND h.amount_micro_cents >= coalesce(p_amount, 0)
    RETURNING * INTO v_hold;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  v_released := v_hold.amount_micro_cents - v_hold.captured_micro_cents;
  -- held_micro_cents >= 0 is a CHECK: a balance holding less than the hold raises here.
  UPDATE tenant_balances b SET
      held_micro_cents = b.held_micro_cents - v_hold.amount_micro_cents,
      available_micro_cents = b.available_micro_cents + v_released,
      spend_today_micro_cents = tollgate_spend_given_back(b.spend_day, b.spend_today_micro_cents,
        (v_hold.created_at AT TIME ZONE 'UTC')::date, v_released),
      updated_at = now()
    WHERE b.tenant_id = v_hold.tenant_id
    RETURNING b.available_micro_cents, b.held_micro_cents INTO v_available, v_held;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: no balance row for tenant %', v_hold.tenant_id;
  END IF;
  INSERT INTO ledger_transactions (id, kind, tenant_id, hold_id, job_id, idempotency_key,
      request_fingerprint, reason, actor)
    VALUES (p_txn_id, 'capture', v_hold.tenant_id, v_hold.id, v_hold.job_id, 'capture:' || v_hold.id,
      tollgate_fingerprint('capture', v_hold.id, v_hold.captured_micro_cents), p_reason, p_actor);
  INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
    SELECT p_txn_id, l.account, l.tenant_id, l.amount, l.balance_after
      FROM (VALUES (1, 'tenant_held'::ledger_account, v_hold.tenant_id, -v_hold.amount_micro_cents, v_held),
                   (2, 'platform_revenue'::ledger_account, NULL, v_hold.captured_micro_cents, NULL),
                   (3, 'tenant_available'::ledger_account, v_hold.tenant_id, v_released, v_available))
           AS l(n, account, tenant_id, amount, balance_after)
     WHERE l.amount <> 0
     ORDER BY l.n;
  IF v_hold.job_id IS NULL THEN
    PERFORM tollgate_free_job_slot(v_hold.tenant_id);
  END IF;
  RETURN QUERY SELECT v_hold.tenant_id, v_hold.job_id, v_hold.captured_micro_cents, v_released;
END;
$$;
