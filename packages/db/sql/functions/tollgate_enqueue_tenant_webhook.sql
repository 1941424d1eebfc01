-- Enqueues a tollgate → tenant webhook in the SAME transaction as a job's terminal
-- transition, whichever code path made it (ledger job operations, admin resolve, future ones), so a
-- crash can never lose a notification: the row commits with the transition or not at all.
--
-- Rule: a job that ends (completed, failed, cancelled, rejected) asynchronously is notified. The one
-- synchronous end is `submitting → rejected`: the submit call itself was refused and its caller got
-- the error, so no webhook. A rejection after `unknown` (expired unknown outcome, admin resolve) is
-- asynchronous and notified. The URL is the job's webhook_url, else the tenant's default at that
-- moment; no URL → nothing to deliver. Delivery ids are `whd_` + 32 hex chars (not secret).
CREATE OR REPLACE FUNCTION tollgate_enqueue_tenant_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target text;
BEGIN
  SELECT coalesce(NEW.webhook_url, t.webhook_url) INTO target FROM tenants t WHERE t.id = NEW.tenant_id;
  IF target IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO tenant_webhook_deliveries (id, job_id, tenant_id, event_type, url)
  VALUES ('whd_' || replace(gen_random_uuid()::text, '-', ''), NEW.id, NEW.tenant_id,
          'job.' || NEW.status::text, target)
  ON CONFLICT (job_id) DO NOTHING;
  RETURN NULL;
END;
$$;
