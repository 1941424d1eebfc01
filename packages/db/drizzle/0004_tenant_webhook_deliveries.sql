CREATE TYPE "public"."webhook_delivery_status" AS ENUM('pending', 'delivered', 'failed');--> statement-breakpoint
CREATE TABLE "tenant_webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"tenant_id" text NOT NULL,
	"event_type" text NOT NULL,
	"url" text NOT NULL,
	"status" "webhook_delivery_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now(),
	"last_attempt_at" timestamp with time zone,
	"last_status_code" integer,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_webhook_deliveries_attempts_check" CHECK ("tenant_webhook_deliveries"."attempts" >= 0)
);
--> statement-breakpoint
ALTER TABLE "tenant_webhook_deliveries" ADD CONSTRAINT "tenant_webhook_deliveries_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_webhook_deliveries" ADD CONSTRAINT "tenant_webhook_deliveries_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_webhook_deliveries_job_idx" ON "tenant_webhook_deliveries" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "tenant_webhook_deliveries_due_idx" ON "tenant_webhook_deliveries" USING btree ("next_attempt_at") WHERE "tenant_webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "tenant_webhook_deliveries_tenant_created_idx" ON "tenant_webhook_deliveries" USING btree ("tenant_id","created_at" DESC NULLS LAST);