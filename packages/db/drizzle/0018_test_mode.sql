CREATE TYPE "public"."tenant_mode" AS ENUM('live', 'test');--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "mode" "tenant_mode" DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "live_tenant_id" text;--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_id_tenant_key" UNIQUE("id","tenant_id");--> statement-breakpoint
ALTER TABLE "ledger_lines" ADD CONSTRAINT "ledger_lines_transaction_tenant_fk" FOREIGN KEY ("transaction_id","tenant_id") REFERENCES "public"."ledger_transactions"("id","tenant_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_live_tenant_id_tenants_id_fk" FOREIGN KEY ("live_tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_live_tenant_idx" ON "tenants" USING btree ("live_tenant_id");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_mode_check" CHECK (("tenants"."mode" = 'live' AND "tenants"."live_tenant_id" IS NULL AND left("tenants"."id", 4) = 'ten_')
        OR ("tenants"."mode" = 'test' AND "tenants"."live_tenant_id" IS NOT NULL AND "tenants"."id" = 'tst_' || substr("tenants"."live_tenant_id", 5)));--> statement-breakpoint

-- Custom SQL (test mode). A sandbox twin (`tst_…`) follows its live tenant's settings: name, status
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
--> statement-breakpoint
CREATE TRIGGER tenants_sync_sandbox AFTER UPDATE ON tenants
  FOR EACH ROW WHEN (NEW.mode = 'live') EXECUTE FUNCTION tollgate_sync_sandbox();

--> statement-breakpoint

-- The usage roll-up (0016/0017) learns the book: every row of a sandbox's money or jobs goes to
-- mode 'test'. The book is read from the tenant id (the tenants CHECK ties `tst_` to mode test), so
-- the triggers keep passing 'live' and tollgate_usage_add ignores p_mode; the view reconcile and the
-- backfill read computes the same mode.
CREATE FUNCTION tollgate_mode_of(p_tenant_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN left(p_tenant_id, 4) = 'tst_' THEN 'test' ELSE 'live' END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tollgate_usage_add(
  p_tenant_id text, p_model text, p_day date, p_mode text, p_tags text[],
  p_jobs bigint, p_completed bigint, p_failed bigint, p_cancelled bigint, p_rejected bigint,
  p_in_flight bigint, p_charged bigint, p_refunded bigint, p_upstream bigint,
  p_unknown_jobs bigint, p_unknown_charged bigint
) RETURNS void LANGUAGE sql AS $$
  INSERT INTO usage_daily AS u (tenant_id, model, day, mode, jobs, completed_jobs, failed_jobs,
      cancelled_jobs, rejected_jobs, in_flight_jobs, charged_micro_cents, refunded_micro_cents,
      upstream_cost_micro_cents, upstream_cost_unknown_jobs, upstream_cost_unknown_charged_micro_cents)
    VALUES (p_tenant_id, p_model, p_day, tollgate_mode_of(p_tenant_id), p_jobs, p_completed, p_failed, p_cancelled,
      p_rejected, p_in_flight, p_charged, p_refunded, p_upstream, p_unknown_jobs, p_unknown_charged)
  ON CONFLICT (tenant_id, model, day, mode) DO UPDATE SET
    jobs = u.jobs + EXCLUDED.jobs,
    completed_jobs = u.completed_jobs + EXCLUDED.completed_jobs,
    failed_jobs = u.failed_jobs + EXCLUDED.failed_jobs,
    cancelled_jobs = u.cancelled_jobs + EXCLUDED.cancelled_jobs,
    rejected_jobs = u.rejected_jobs + EXCLUDED.rejected_jobs,
    in_flight_jobs = u.in_flight_jobs + EXCLUDED.in_flight_jobs,
    charged_micro_cents = u.charged_micro_cents + EXCLUDED.charged_micro_cents,
    refunded_micro_cents = u.refunded_micro_cents + EXCLUDED.refunded_micro_cents,
    upstream_cost_micro_cents = u.upstream_cost_micro_cents + EXCLUDED.upstream_cost_micro_cents,
    upstream_cost_unknown_jobs = u.upstream_cost_unknown_jobs + EXCLUDED.upstream_cost_unknown_jobs,
    upstream_cost_unknown_charged_micro_cents =
      u.upstream_cost_unknown_charged_micro_cents + EXCLUDED.upstream_cost_unknown_charged_micro_cents;
  INSERT INTO usage_daily_tags AS u (tenant_id, model, day, mode, tag, jobs, completed_jobs,
      failed_jobs, cancelled_jobs, rejected_jobs, in_flight_jobs, charged_micro_cents,
      refunded_micro_cents, upstream_cost_micro_cents, upstream_cost_unknown_jobs,
      upstream_cost_unknown_charged_micro_cents)
    SELECT p_tenant_id, p_model, p_day, tollgate_mode_of(p_tenant_id), tg.tag, p_jobs, p_completed, p_failed, p_cancelled,
        p_rejected, p_in_flight, p_charged, p_refunded, p_upstream, p_unknown_jobs, p_unknown_charged
      FROM (SELECT DISTINCT coalesce(x.tag, '') AS tag
              FROM unnest(CASE WHEN cardinality(p_tags) > 0 THEN p_tags ELSE ARRAY['']::text[] END) AS x(tag)) tg
  ON CONFLICT (tenant_id, model, day, mode, tag) DO UPDATE SET
    jobs = u.jobs + EXCLUDED.jobs,
    completed_jobs = u.completed_jobs + EXCLUDED.completed_jobs,
    failed_jobs = u.failed_jobs + EXCLUDED.failed_jobs,
    cancelled_jobs = u.cancelled_jobs + EXCLUDED.cancelled_jobs,
    rejected_jobs = u.rejected_jobs + EXCLUDED.rejected_jobs,
    in_flight_jobs = u.in_flight_jobs + EXCLUDED.in_flight_jobs,
    charged_micro_cents = u.charged_micro_cents + EXCLUDED.charged_micro_cents,
    refunded_micro_cents = u.refunded_micro_cents + EXCLUDED.refunded_micro_cents,
    upstream_cost_micro_cents = u.upstream_cost_micro_cents + EXCLUDED.upstream_cost_micro_cents,
    upstream_cost_unknown_jobs = u.upstream_cost_unknown_jobs + EXCLUDED.upstream_cost_unknown_jobs,
    upstream_cost_unknown_charged_micro_cents =
      u.upstream_cost_unknown_charged_micro_cents + EXCLUDED.upstream_cost_unknown_charged_micro_cents;
$$;
--> statement-breakpoint
CREATE OR REPLACE VIEW usage_rollup_events AS
  SELECT t.tenant_id, coalesce(j.model, '') AS model, (t.created_at AT TIME ZONE 'UTC')::date AS day,
         tollgate_mode_of(t.tenant_id) AS mode, coalesce(j.tags, '{}'::text[]) AS tags,
         0::bigint AS jobs, 0::bigint AS completed_jobs, 0::bigint AS failed_jobs,
         0::bigint AS cancelled_jobs, 0::bigint AS rejected_jobs, 0::bigint AS in_flight_jobs,
         CASE WHEN t.kind = 'capture' THEN coalesce(r.revenue, 0) ELSE 0 END AS charged_micro_cents,
         CASE WHEN t.kind = 'refund' THEN -coalesce(r.revenue, 0) ELSE 0 END AS refunded_micro_cents,
         coalesce(w.upstream, 0) AS upstream_cost_micro_cents,
         coalesce(w.unknown_jobs, 0) AS upstream_cost_unknown_jobs,
         coalesce(w.unknown_charged, 0) AS upstream_cost_unknown_charged_micro_cents
    FROM ledger_transactions t
    LEFT JOIN jobs j ON j.id = t.job_id
    LEFT JOIN holds h ON h.id = t.hold_id
    LEFT JOIN LATERAL (
      SELECT * FROM tollgate_usage_worth(t.kind, h.captured_micro_cents, j.upstream_cost_micro_cents, j.status, j.error)
       WHERE j.id IS NOT NULL
    ) w ON true
    LEFT JOIN (SELECT transaction_id, sum(amount_micro_cents) AS revenue FROM ledger_lines
                WHERE account = 'platform_revenue' GROUP BY transaction_id) r ON r.transaction_id = t.id
   WHERE t.kind IN ('capture', 'refund')
  UNION ALL
  SELECT j.tenant_id, j.model, (j.created_at AT TIME ZONE 'UTC')::date, tollgate_mode_of(j.tenant_id), j.tags,
         1, (j.status = 'completed')::int, (j.status = 'failed')::int, (j.status = 'cancelled')::int,
         (j.status = 'rejected')::int, (j.status IN ('submitting', 'pending', 'processing', 'unknown'))::int,
         0, 0, 0, 0, 0
    FROM jobs j;;
