-- Custom SQL: group commit for every step of a job, across tenants (packages/db/src/group.ts).
-- Each step's statement costs Postgres more in per-statement and per-commit overhead than in the rows
-- it writes, so the gateway sends the opens, captures and completions that arrive while others are
-- in flight as ONE statement each: one transaction, one commit for the group.
--
-- Each entry runs exactly the single-entry function of migration 0006, in order, inside the group's
-- transaction, so the result is what running them one after another gives (each reserve sees the
-- ones before it). An entry that does not apply returns no row and its caller takes its slow path on
-- its own; an entry that raises rolls the whole group back and the callers retry alone.
--
-- Lock order: entries are applied ordered by tenant (a tenant's entries keep their order), so two
-- groups in flight at once lock tenants' balance rows (and their jobs) in the same order and cannot
-- deadlock each other. Captures and completions carry only the job id: the tenant is read from the
-- job row (it never changes) to order them, one primary-key lookup per entry (a join let the planner
-- pick a sequential scan of `jobs` while the table was small, and the plan stayed).

-- Opens: replaces 0007's version (one tenant per group) with one ordered by tenant.
CREATE OR REPLACE FUNCTION tollgate_open_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY j.value->>'tenantId', j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_open_job(
      e->>'jobId', e->>'holdId', e->>'txnId', e->>'tenantId', e->>'model', e->'input',
      (e->>'quote')::bigint, (e->>'listCost')::bigint, e->>'priceVersion',
      ARRAY(SELECT t.tag FROM jsonb_array_elements_text(e->'tags') WITH ORDINALITY AS t(tag, n) ORDER BY t.n),
      e->>'webhookUrl', e->>'idempotencyKey', e->>'fingerprint', (e->>'maxDurationSeconds')::int,
      e->>'actor', e->>'holdFingerprint');
  END LOOP;
END;
$$;
--> statement-breakpoint

-- Captures: entries {jobId, txnId, upstreamJobId, upstreamCost (string or null),
-- estimatedCompletionTime (ISO or null), actor (or null)}.
CREATE FUNCTION tollgate_capture_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_capture_job(
      e->>'jobId', e->>'txnId', e->>'upstreamJobId', (e->>'upstreamCost')::bigint,
      (e->>'estimatedCompletionTime')::timestamptz, e->>'actor');
  END LOOP;
END;
$$;
--> statement-breakpoint

-- Completions: entries {jobId, output (or null), outputs (JSON or null), completedAt (ISO or null)}.
-- A JSON null `outputs` is stored as SQL NULL, as the single-entry call does.
CREATE FUNCTION tollgate_complete_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n)
      ORDER BY (SELECT tenant_id FROM jobs WHERE id = j.value->>'jobId'), j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_complete_job(
      e->>'jobId', e->>'output', nullif(e->'outputs', 'null'::jsonb),
      (e->>'completedAt')::timestamptz);
  END LOOP;
END;
$$;
