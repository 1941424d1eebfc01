-- Custom SQL: the capture and completion groups take their job locks (0009) one primary-key lookup at
-- a time, in id order, through one shared function.
--
-- 0009 locked them with one join, `WHERE id IN (SELECT … FROM jsonb_array_elements(p_jobs))`. PL/pgSQL
-- caches that statement's plan per connection, and a plan made while `jobs` was small is a hash join
-- over a sequential scan of the whole table, which the connection keeps until the next ANALYZE: the
-- bench's machine-split read ~200 job rows by sequential scan for every job it submitted. A lookup by
-- primary key costs the same at any table size. The order (id, the column's collation) is 0009's, so
-- the lock-order argument there still holds.

CREATE OR REPLACE FUNCTION tollgate_lock_jobs(p_jobs jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
BEGIN
  FOR v_id IN SELECT DISTINCT j.value->>'jobId' FROM jsonb_array_elements(p_jobs) AS j(value) ORDER BY 1 LOOP
    PERFORM 1 FROM jobs WHERE id = v_id FOR UPDATE;
  END LOOP;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tollgate_capture_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  PERFORM tollgate_lock_jobs(p_jobs);
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_capture_job(
      e->>'jobId', e->>'txnId', e->>'upstreamJobId', (e->>'upstreamCost')::bigint,
      (e->>'estimatedCompletionTime')::timestamptz, e->>'actor');
  END LOOP;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tollgate_complete_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  PERFORM tollgate_lock_jobs(p_jobs);
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_complete_job(
      e->>'jobId', e->>'output', nullif(e->'outputs', 'null'::jsonb),
      (e->>'completedAt')::timestamptz);
  END LOOP;
END;
$$;
