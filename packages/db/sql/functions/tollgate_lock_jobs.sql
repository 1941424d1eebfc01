-- Locks the group's jobs one primary-key lookup at a time, in id order (the column's collation). A
-- single `WHERE id IN (SELECT …)` got a cached plan with a sequential scan of `jobs` (planned while the
-- table was small); a lookup by primary key costs the same at any table size.
CREATE OR REPLACE FUNCTION tollgate_lock_jobs(p_jobs jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
BEGIN
  FOR v_id IN SELECT DISTINCT j.value->>'jobId' FROM jsonb_array_elements(p_jobs) AS j(value) ORDER BY 1 LOOP
    PERFORM 1 FROM jobs WHERE id = v_id FOR UPDATE;
  END LOOP;
END;
$$;
