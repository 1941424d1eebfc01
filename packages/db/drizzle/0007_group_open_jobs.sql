-- Custom SQL: group commit for one tenant's concurrent job opens. `openJob` queues the opens of a
-- tenant that arrive while one of its opens is in flight and sends them together: one statement, one
-- transaction, one commit (one WAL flush) for the batch, the tenant's balance row locked once instead
-- of once per request. Each entry is exactly `tollgate_open_job` with its own arguments, applied in
-- order inside the transaction (each reserve sees the ones before it), so the money and the limits
-- come out as if the requests had run one after the other; an entry that opens nothing (refused, key
-- taken) returns no row and its caller takes the slow path on its own. Amounts travel as JSON strings
-- (exact bigints); tags keep their order.
CREATE FUNCTION tollgate_open_jobs(p_jobs jsonb) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT j.value FROM jsonb_array_elements(p_jobs) WITH ORDINALITY AS j(value, n) ORDER BY j.n LOOP
    RETURN QUERY SELECT * FROM tollgate_open_job(
      e->>'jobId', e->>'holdId', e->>'txnId', e->>'tenantId', e->>'model', e->'input',
      (e->>'quote')::bigint, (e->>'listCost')::bigint, e->>'priceVersion',
      ARRAY(SELECT t.tag FROM jsonb_array_elements_text(e->'tags') WITH ORDINALITY AS t(tag, n) ORDER BY t.n),
      e->>'webhookUrl', e->>'idempotencyKey', e->>'fingerprint', (e->>'maxDurationSeconds')::int,
      e->>'actor', e->>'holdFingerprint');
  END LOOP;
END;
$$;
