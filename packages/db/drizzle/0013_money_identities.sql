DROP INDEX "jobs_upstream_job_id_idx";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "collided_upstream_job_id" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "cancel_answered_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_transactions_top_up_reference_idx" ON "ledger_transactions" USING btree ("tenant_id","reference") WHERE "ledger_transactions"."kind" = 'top_up';--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_upstream_job_id_idx" ON "jobs" USING btree ("upstream_job_id");