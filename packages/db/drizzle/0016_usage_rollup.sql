CREATE TABLE "usage_daily" (
	"tenant_id" text NOT NULL,
	"model" text NOT NULL,
	"day" date NOT NULL,
	"mode" text DEFAULT 'live' NOT NULL,
	"jobs" bigint DEFAULT 0 NOT NULL,
	"completed_jobs" bigint DEFAULT 0 NOT NULL,
	"failed_jobs" bigint DEFAULT 0 NOT NULL,
	"cancelled_jobs" bigint DEFAULT 0 NOT NULL,
	"rejected_jobs" bigint DEFAULT 0 NOT NULL,
	"in_flight_jobs" bigint DEFAULT 0 NOT NULL,
	"charged_micro_cents" bigint DEFAULT 0 NOT NULL,
	"refunded_micro_cents" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_micro_cents" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_unknown_jobs" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_unknown_charged_micro_cents" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_tenant_id_model_day_mode_pk" PRIMARY KEY("tenant_id","model","day","mode"),
	CONSTRAINT "usage_daily_mode_check" CHECK ("usage_daily"."mode" IN ('live', 'test'))
);
--> statement-breakpoint
CREATE TABLE "usage_daily_tags" (
	"tenant_id" text NOT NULL,
	"model" text NOT NULL,
	"day" date NOT NULL,
	"mode" text DEFAULT 'live' NOT NULL,
	"tag" text NOT NULL,
	"jobs" bigint DEFAULT 0 NOT NULL,
	"completed_jobs" bigint DEFAULT 0 NOT NULL,
	"failed_jobs" bigint DEFAULT 0 NOT NULL,
	"cancelled_jobs" bigint DEFAULT 0 NOT NULL,
	"rejected_jobs" bigint DEFAULT 0 NOT NULL,
	"in_flight_jobs" bigint DEFAULT 0 NOT NULL,
	"charged_micro_cents" bigint DEFAULT 0 NOT NULL,
	"refunded_micro_cents" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_micro_cents" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_unknown_jobs" bigint DEFAULT 0 NOT NULL,
	"upstream_cost_unknown_charged_micro_cents" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_tags_tenant_id_model_day_mode_tag_pk" PRIMARY KEY("tenant_id","model","day","mode","tag"),
	CONSTRAINT "usage_daily_tags_mode_check" CHECK ("usage_daily_tags"."mode" IN ('live', 'test'))
);
--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_daily_tags" ADD CONSTRAINT "usage_daily_tags_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_daily_mode_day_idx" ON "usage_daily" USING btree ("mode","day");--> statement-breakpoint
CREATE INDEX "usage_daily_tags_mode_day_idx" ON "usage_daily_tags" USING btree ("mode","day");