ALTER TABLE "tenant_webhook_deliveries" ALTER COLUMN "job_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_balances" ADD COLUMN "low_balance_threshold_micro_cents" bigint;--> statement-breakpoint
ALTER TABLE "tenant_webhook_deliveries" ADD COLUMN "payload" jsonb;--> statement-breakpoint
ALTER TABLE "tenant_webhook_deliveries" ADD COLUMN "dedup_key" text;--> statement-breakpoint
ALTER TABLE "tenant_webhook_deliveries" ADD COLUMN "retry_from" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "previous_webhook_secret" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "previous_webhook_secret_expires_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_webhook_deliveries_dedup_idx" ON "tenant_webhook_deliveries" USING btree ("dedup_key");--> statement-breakpoint
ALTER TABLE "tenant_balances" ADD CONSTRAINT "tenant_balances_low_balance_threshold_check" CHECK ("tenant_balances"."low_balance_threshold_micro_cents" IS NULL OR "tenant_balances"."low_balance_threshold_micro_cents" >= 0);
--> statement-breakpoint
-- Custom SQL (below): Standard Webhooks secrets, and `balance.low` decided in the money's own transaction.
--
-- Secrets: tenants created before this migration have `whsec_<base64url of 24 random bytes>`, which
-- was used as an HMAC key string as written. Standard Webhooks reads `whsec_<base64>` and keys the
-- HMAC with the decoded bytes, so each such secret is re-encoded in place with the standard alphabet:
-- the same random bytes, now usable by any Standard Webhooks library. The string a receiver holds
-- changes wherever it had `-` or `_` (admins read the new one with admin.tenants.get); signatures
-- change anyway (new headers, new signed content). Anything else is left as it is.
UPDATE tenants
SET webhook_secret = 'whsec_' || translate(substr(webhook_secret, 7), '-_', '+/')
  || repeat('=', (4 - length(substr(webhook_secret, 7)) % 4) % 4),
  updated_at = now()
WHERE webhook_secret LIKE 'whsec\_%' AND substr(webhook_secret, 7) ~ '^[A-Za-z0-9_-]+$'
  AND length(substr(webhook_secret, 7)) % 4 <> 1;
--> statement-breakpoint
-- balance.low: enqueued by the UPDATE that takes available from ≥ threshold to below it, whichever
-- money path made it (hold, negative adjustment, future ones), in that same transaction. The row
-- lock serialises every UPDATE of a tenant's balance and OLD is the version this UPDATE replaced,
-- so each crossing is seen by exactly one UPDATE, under any concurrency: once per crossing, and a
-- rise back to ≥ threshold (top-up, release, refund) re-arms it. The WHEN clause compares columns of
-- the row only, so the money statements that do not cross run no trigger code. Changing the
-- threshold itself is not a crossing (available did not move). No tenant URL → nothing to deliver.
CREATE FUNCTION tollgate_enqueue_balance_low() RETURNS trigger LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
CREATE TRIGGER tenant_balances_enqueue_balance_low AFTER UPDATE OF available_micro_cents ON tenant_balances
  FOR EACH ROW
  WHEN (
    NEW.low_balance_threshold_micro_cents IS NOT NULL
    AND NEW.available_micro_cents < NEW.low_balance_threshold_micro_cents
    AND OLD.available_micro_cents >= NEW.low_balance_threshold_micro_cents
  )
  EXECUTE FUNCTION tollgate_enqueue_balance_low();
