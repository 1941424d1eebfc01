-- balance.low: enqueued by the UPDATE that takes available from ≥ threshold to below it, whichever
-- money path made it (hold, negative adjustment, future ones), in that same transaction. The row
-- lock serialises every UPDATE of a tenant's balance and OLD is the version this UPDATE replaced,
-- so each crossing is seen by exactly one UPDATE, under any concurrency: once per crossing, and a
-- rise back to ≥ threshold (top-up, release, refund) re-arms it. The WHEN clause compares columns of
-- the row only, so the money statements that do not cross run no trigger code. Changing the
-- threshold itself is not a crossing (available did not move). No tenant URL → nothing to deliver.
CREATE OR REPLACE FUNCTION tollgate_enqueue_balance_low() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target text;
BEGIN
  SELECT t.webhook_url INTO target FROM tenants t WHERE t.id = NEW.tenant_id;
  IF target IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO tenant_webhook_deliveries (id, tenant_id, event_type, url, payload)
  VALUES ('whd_' || replace(gen_random_uuid()::text, '-', ''), NEW.tenant_id, 'balance.low', target,
          jsonb_build_object(
            'tenantId', NEW.tenant_id,
            'availableMicroCents', NEW.available_micro_cents,
            'thresholdMicroCents', NEW.low_balance_threshold_micro_cents));
  RETURN NULL;
END;
$$;
