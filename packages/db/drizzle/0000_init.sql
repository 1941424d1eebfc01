CREATE TYPE "public"."hold_status" AS ENUM('open', 'captured', 'released');--> statement-breakpoint
CREATE TYPE "public"."job_status" AS ENUM('submitting', 'pending', 'processing', 'completed', 'failed', 'cancelled', 'rejected', 'unknown');--> statement-breakpoint
CREATE TYPE "public"."ledger_account" AS ENUM('tenant_available', 'tenant_held', 'platform_revenue', 'platform_funding', 'platform_adjustments');--> statement-breakpoint
CREATE TYPE "public"."ledger_kind" AS ENUM('top_up', 'adjustment', 'hold', 'capture', 'release', 'refund');--> statement-breakpoint
CREATE TYPE "public"."tenant_status" AS ENUM('active', 'suspended');--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"job_id" text,
	"amount_micro_cents" bigint NOT NULL,
	"status" "hold_status" DEFAULT 'open' NOT NULL,
	"captured_micro_cents" bigint,
	"refunded_micro_cents" bigint,
	"refunded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "holds_amount_positive_check" CHECK ("holds"."amount_micro_cents" > 0),
	CONSTRAINT "holds_resolution_check" CHECK (("holds"."status" = 'open') = ("holds"."resolved_at" IS NULL)
        AND ("holds"."status" = 'captured') = ("holds"."captured_micro_cents" IS NOT NULL)
        AND ("holds"."captured_micro_cents" IS NULL OR ("holds"."captured_micro_cents" >= 0 AND "holds"."captured_micro_cents" <= "holds"."amount_micro_cents"))
        AND ("holds"."refunded_at" IS NULL OR "holds"."status" = 'captured')
        AND ("holds"."refunded_at" IS NULL) = ("holds"."refunded_micro_cents" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"model" text NOT NULL,
	"input" jsonb NOT NULL,
	"status" "job_status" DEFAULT 'submitting' NOT NULL,
	"cost_micro_cents" bigint NOT NULL,
	"list_cost_micro_cents" bigint NOT NULL,
	"price_version" text NOT NULL,
	"upstream_job_id" text,
	"upstream_cost_micro_cents" bigint,
	"cost_mismatch" boolean DEFAULT false NOT NULL,
	"refunded_micro_cents" bigint DEFAULT 0 NOT NULL,
	"output" text,
	"outputs" jsonb,
	"error" jsonb,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"webhook_url" text,
	"idempotency_key" text,
	"fingerprint" text NOT NULL,
	"hold_id" text NOT NULL,
	"needs_review" boolean DEFAULT false NOT NULL,
	"next_poll_at" timestamp with time zone,
	"poll_attempts" integer DEFAULT 0 NOT NULL,
	"deadline_at" timestamp with time zone NOT NULL,
	"estimated_completion_time" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "jobs_cost_check" CHECK ("jobs"."cost_micro_cents" > 0 AND "jobs"."list_cost_micro_cents" >= 0),
	CONSTRAINT "jobs_refund_check" CHECK ("jobs"."refunded_micro_cents" >= 0 AND "jobs"."refunded_micro_cents" <= "jobs"."cost_micro_cents")
);
--> statement-breakpoint
CREATE TABLE "ledger_lines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"transaction_id" text NOT NULL,
	"account" "ledger_account" NOT NULL,
	"tenant_id" text,
	"amount_micro_cents" bigint NOT NULL,
	"balance_after_micro_cents" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_lines_amount_nonzero_check" CHECK ("ledger_lines"."amount_micro_cents" <> 0),
	CONSTRAINT "ledger_lines_tenant_scope_check" CHECK (("ledger_lines"."account" IN ('tenant_available', 'tenant_held')) = ("ledger_lines"."tenant_id" IS NOT NULL)),
	CONSTRAINT "ledger_lines_balance_after_check" CHECK ("ledger_lines"."balance_after_micro_cents" IS NULL OR "ledger_lines"."balance_after_micro_cents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "ledger_transactions" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "ledger_kind" NOT NULL,
	"tenant_id" text NOT NULL,
	"hold_id" text,
	"job_id" text,
	"idempotency_key" text NOT NULL,
	"request_fingerprint" text NOT NULL,
	"reference" text,
	"reason" text,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "price_overrides" (
	"id" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"rule" jsonb NOT NULL,
	"price_version" text NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenant_balances" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"available_micro_cents" bigint DEFAULT 0 NOT NULL,
	"held_micro_cents" bigint DEFAULT 0 NOT NULL,
	"active_jobs" integer DEFAULT 0 NOT NULL,
	"spend_day" date,
	"spend_today_micro_cents" bigint DEFAULT 0 NOT NULL,
	"rate_window_start" timestamp with time zone,
	"rate_window_count" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_balances_available_check" CHECK ("tenant_balances"."available_micro_cents" >= 0),
	CONSTRAINT "tenant_balances_held_check" CHECK ("tenant_balances"."held_micro_cents" >= 0),
	CONSTRAINT "tenant_balances_active_jobs_check" CHECK ("tenant_balances"."active_jobs" >= 0),
	CONSTRAINT "tenant_balances_spend_today_check" CHECK ("tenant_balances"."spend_today_micro_cents" >= 0),
	CONSTRAINT "tenant_balances_rate_window_count_check" CHECK ("tenant_balances"."rate_window_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"status" "tenant_status" DEFAULT 'active' NOT NULL,
	"markup_bps" integer DEFAULT 0 NOT NULL,
	"max_concurrent_jobs" integer,
	"daily_spend_limit_micro_cents" bigint,
	"requests_per_minute" integer,
	"webhook_url" text,
	"webhook_secret" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_markup_bps_check" CHECK ("tenants"."markup_bps" >= 0),
	CONSTRAINT "tenants_max_concurrent_jobs_check" CHECK ("tenants"."max_concurrent_jobs" IS NULL OR "tenants"."max_concurrent_jobs" >= 0),
	CONSTRAINT "tenants_daily_spend_limit_check" CHECK ("tenants"."daily_spend_limit_micro_cents" IS NULL OR "tenants"."daily_spend_limit_micro_cents" >= 0),
	CONSTRAINT "tenants_requests_per_minute_check" CHECK ("tenants"."requests_per_minute" IS NULL OR "tenants"."requests_per_minute" >= 0)
);
--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_lines" ADD CONSTRAINT "ledger_lines_transaction_id_ledger_transactions_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_lines" ADD CONSTRAINT "ledger_lines_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_hold_id_holds_id_fk" FOREIGN KEY ("hold_id") REFERENCES "public"."holds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_balances" ADD CONSTRAINT "tenant_balances_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_created_idx" ON "audit_log" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "audit_log" USING btree ("target_type","target_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "holds_tenant_status_idx" ON "holds" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE INDEX "holds_job_idx" ON "holds" USING btree ("job_id");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_tenant_idempotency_key_idx" ON "jobs" USING btree ("tenant_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "jobs_tenant_created_idx" ON "jobs" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "jobs_tenant_status_created_idx" ON "jobs" USING btree ("tenant_id","status","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "jobs_status_created_idx" ON "jobs" USING btree ("status","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "jobs_created_idx" ON "jobs" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "jobs_poll_idx" ON "jobs" USING btree ("next_poll_at") WHERE "jobs"."status" IN ('submitting', 'pending', 'processing', 'unknown');--> statement-breakpoint
CREATE INDEX "jobs_upstream_job_id_idx" ON "jobs" USING btree ("upstream_job_id");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_hold_idx" ON "jobs" USING btree ("hold_id");--> statement-breakpoint
CREATE INDEX "ledger_lines_transaction_idx" ON "ledger_lines" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "ledger_lines_tenant_account_idx" ON "ledger_lines" USING btree ("tenant_id","account");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_transactions_idempotency_key_idx" ON "ledger_transactions" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "ledger_transactions_tenant_created_idx" ON "ledger_transactions" USING btree ("tenant_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ledger_transactions_created_idx" ON "ledger_transactions" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ledger_transactions_hold_idx" ON "ledger_transactions" USING btree ("hold_id");--> statement-breakpoint
CREATE INDEX "ledger_transactions_job_idx" ON "ledger_transactions" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "price_overrides_model_effective_idx" ON "price_overrides" USING btree ("model","effective_from" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "tenants_created_at_idx" ON "tenants" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);