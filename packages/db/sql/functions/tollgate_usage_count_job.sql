-- A job created (+1 job, +1 in its status bucket) or moved between buckets (−1 old, +1 new), on
-- the row of the day it was created.
CREATE OR REPLACE FUNCTION tollgate_usage_count_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_new text := NEW.status::text;
  v_old text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status::text ELSE '' END;
BEGIN
  PERFORM tollgate_usage_add(NEW.tenant_id, NEW.model, (NEW.created_at AT TIME ZONE 'UTC')::date,
    'live', NEW.tags,
    CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
    (v_new = 'completed')::int - (v_old = 'completed')::int,
    (v_new = 'failed')::int - (v_old = 'failed')::int,
    (v_new = 'cancelled')::int - (v_old = 'cancelled')::int,
    (v_new = 'rejected')::int - (v_old = 'rejected')::int,
    (v_new IN ('submitting', 'pending', 'processing', 'unknown'))::int
      - (v_old IN ('submitting', 'pending', 'processing', 'unknown'))::int,
    0, 0, 0, 0, 0);
  RETURN NULL;
END;
$$;
