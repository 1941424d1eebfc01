-- Moves `p_amount` from available to held if the tenant is active, has the money and is within
-- every limit (tollgate_hold_refusal, the one definition of those rules); bumps the limit counters
-- in the same statement (resetting the day / minute window when it rolled over on the DB clock).
-- No row = refused; the caller reads which check failed with the same definition (`holdRefusal`,
-- packages/db/src/ledger/limits.ts).
-- The single conditional UPDATE of a hold, used by tollgate_open_job (and by the test-only bare-hold
-- `reserve`, packages/db/src/testing/bare-holds.ts).
-- PL/pgSQL, not SQL, so that it is planned once per session, not on every call (Postgres before 18
-- re-plans a non-inlined SQL function's statement each time): 0.42–0.53 → 0.26–0.33 ms a call on
-- PG 15 (migration 0026).
CREATE OR REPLACE FUNCTION tollgate_reserve(p_tenant_id text, p_amount bigint)
RETURNS TABLE (available_micro_cents bigint, held_micro_cents bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
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
    AND tollgate_hold_refusal(t.status::text, t.requests_per_minute, t.max_concurrent_jobs,
          t.daily_spend_limit_micro_cents,
          CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END, b.active_jobs,
          CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents ELSE 0 END,
          b.available_micro_cents, p_amount) IS NULL
  RETURNING b.available_micro_cents, b.held_micro_cents;
END;
$$;
