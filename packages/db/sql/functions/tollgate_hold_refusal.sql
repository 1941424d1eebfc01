-- The limit rules of a hold, in ONE definition: which check refuses moving `p_amount` to held for
-- a tenant in this state (its settings, and its balance row with the day's spend and the minute's
-- request count already reset when they rolled over), NULL when none does. Checked in this order:
-- TENANT_SUSPENDED, RATE_LIMIT, CONCURRENT_JOBS_LIMIT, DAILY_SPEND_LIMIT, INSUFFICIENT_BALANCE
-- (a missing tenant or balance row is TENANT_NOT_FOUND, decided by the caller). tollgate_reserve's
-- conditional UPDATE refuses exactly when this is not NULL, and the TypeScript diagnosis reads the
-- reason from it (`holdRefusal`, packages/db/src/ledger/limits.ts): the two cannot disagree.
-- Inlined by the planner.
CREATE OR REPLACE FUNCTION tollgate_hold_refusal(
  p_status text, p_requests_per_minute integer, p_max_concurrent_jobs integer,
  p_daily_spend_limit bigint, p_window_count integer, p_active_jobs integer, p_spent_today bigint,
  p_available bigint, p_amount bigint
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_status <> 'active' THEN 'TENANT_SUSPENDED'
    WHEN p_requests_per_minute IS NOT NULL AND p_window_count >= p_requests_per_minute THEN 'RATE_LIMIT'
    WHEN p_max_concurrent_jobs IS NOT NULL AND p_active_jobs >= p_max_concurrent_jobs THEN 'CONCURRENT_JOBS_LIMIT'
    WHEN p_daily_spend_limit IS NOT NULL AND p_spent_today > p_daily_spend_limit - p_amount THEN 'DAILY_SPEND_LIMIT'
    WHEN p_available < p_amount THEN 'INSUFFICIENT_BALANCE'
  END
$$;
