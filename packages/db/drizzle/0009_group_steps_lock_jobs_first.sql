-- Custom SQL: the capture and completion groups (0008) lock ALL their job rows first, in id order,
-- before any entry touches a tenant's balance row.
--
-- Every single-job operation (advanceJob on a webhook or poll, captureJob, releaseJob, resolve,
-- expire…) locks its job row, then the tenant's balance row. 0008's groups locked entry by entry:
-- job 1, the tenant's balance, then job 2. A webhook holding job 2 and waiting for that balance row
-- while the group held the balance and waited for job 2 was a deadlock: Postgres aborted one of them
-- after deadlock_timeout (1 s), and it was retried. With every job lock taken before any balance lock
-- (and job locks in id order, balance locks in tenant order), no transaction ever waits for a job
-- row while holding a balance row, so there is no cycle. The open group locks balances and only
-- inserts new job rows: unchanged.

CREATE OR REPLACE FUNCTION tollgate_capture_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  PERFORM 1 FROM jobs
    WHERE id IN (SELECT j.value->>'jobId' FROM jsonb_array_elements(p_jobs) AS j(value))
    ORDER BY id FOR UPDATE;
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
  PERFORM 1 FROM jobs
    WHERE id IN (SELECT j.value->>'jobId' FROM jsonb_array_elements(p_jobs) AS j(value))
    ORDER BY id FOR UPDATE;
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_complete_job(
      e->>'jobId', e->>'output', nullif(e->'outputs', 'null'::jsonb),
      (e->>'completedAt')::timestamptz);
  END LOOP;
END;
$$;
