-- Test mode: a sandbox twin (`tst_…`) follows its live tenant's settings: name, status
-- (a suspended tenant is suspended in test mode too), markup, limits (test mode enforces the same
-- limits) and webhook endpoint. Done by a trigger so that no code path that changes a tenant can
-- forget the twin. The twin's own money and counters live in its tenant_balances row, untouched here.
CREATE OR REPLACE FUNCTION tollgate_sync_sandbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE tenants SET
    name = NEW.name,
    status = NEW.status,
    markup_bps = NEW.markup_bps,
    max_concurrent_jobs = NEW.max_concurrent_jobs,
    daily_spend_limit_micro_cents = NEW.daily_spend_limit_micro_cents,
    requests_per_minute = NEW.requests_per_minute,
    webhook_url = NEW.webhook_url,
    webhook_secret = NEW.webhook_secret,
    updated_at = NEW.updated_at
  WHERE live_tenant_id = NEW.id;
  RETURN NULL;
END;
$$;
