-- Immediate trigger on jobs (upstream cost, status, error): for each of the job's capture/refund
-- transactions, adds the difference between what it is worth after and before the change.
CREATE OR REPLACE FUNCTION tollgate_usage_upstream_of_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t record;
  a record;
  b record;
BEGIN
  FOR t IN SELECT x.kind, x.created_at, h.captured_micro_cents AS captured
             FROM ledger_transactions x LEFT JOIN holds h ON h.id = x.hold_id
            WHERE x.job_id = NEW.id AND x.kind IN ('capture', 'refund') LOOP
    SELECT * INTO a
      FROM tollgate_usage_worth(t.kind, t.captured, NEW.upstream_cost_micro_cents, NEW.status, NEW.error);
    SELECT * INTO b
      FROM tollgate_usage_worth(t.kind, t.captured, OLD.upstream_cost_micro_cents, OLD.status, OLD.error);
    IF a.upstream <> b.upstream OR a.unknown_jobs <> b.unknown_jobs OR a.unknown_charged <> b.unknown_charged THEN
      PERFORM tollgate_usage_add(NEW.tenant_id, NEW.model, (t.created_at AT TIME ZONE 'UTC')::date,
        'live', NEW.tags, 0, 0, 0, 0, 0, 0, 0, 0, a.upstream - b.upstream,
        a.unknown_jobs - b.unknown_jobs, a.unknown_charged - b.unknown_charged);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;
