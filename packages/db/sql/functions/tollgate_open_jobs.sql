-- Group commit of opens (packages/db/src/group.ts): each entry runs tollgate_open_job, in the
-- group's one transaction, ordered by tenant (a tenant's entries keep their order) so that two groups
-- in flight lock balance rows in the same order. An entry that does not apply returns no row (its
-- caller takes its slow path alone); one that raises rolls the whole group back.
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
      e->>'actor');
  END LOOP;
END;
$$;
