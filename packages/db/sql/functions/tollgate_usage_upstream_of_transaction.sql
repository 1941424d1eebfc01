-- Immediate trigger on ledger_transactions: a capture/refund adds what it is worth with the job as
-- it is now (tollgate_usage_worth). A job's capture also adds its charge here (the hold's captured
-- amount, which its platform_revenue line will carry: tollgate_capture_hold writes both from it),
-- so a capture costs one roll-up upsert instead of two (this one and tollgate_usage_count_revenue's);
-- tollgate_usage_count_revenue adds only what a line differs from that amount (nothing, on every
-- path that captures). The submit's capture is on the request's path: bench/HISTORY.md, "One
-- roll-up upsert per capture".
CREATE OR REPLACE FUNCTION tollgate_usage_upstream_of_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
  v_captured bigint;
  v_charged bigint := 0;
  w record;
BEGIN
  SELECT * INTO v_job FROM jobs WHERE id = NEW.job_id;
  SELECT captured_micro_cents INTO v_captured FROM holds WHERE id = NEW.hold_id;
  IF NEW.kind = 'capture' THEN
    v_charged := coalesce(v_captured, 0);
  END IF;
  SELECT * INTO w
    FROM tollgate_usage_worth(NEW.kind, v_captured, v_job.upstream_cost_micro_cents, v_job.status, v_job.error);
  IF w.upstream <> 0 OR w.unknown_jobs <> 0 OR v_charged <> 0 THEN
    PERFORM tollgate_usage_add(NEW.tenant_id, v_job.model, (NEW.created_at AT TIME ZONE 'UTC')::date,
      'live', v_job.tags, 0, 0, 0, 0, 0, 0, v_charged, 0, w.upstream, w.unknown_jobs, w.unknown_charged);
  END IF;
  RETURN NULL;
END;
$$;
