-- COMPATIBILITY SHIM, to be DROPPED by the first release after the one that ships migration 0021
-- (delete this file, then `pnpm --filter @tollgate/db sql:migration drop_open_job_compat`): the
-- 16-argument tollgate_open_job that gateways of the previous release (commit 2598228, migrations up
-- to 0020) call, kept so that they keep opening jobs on a database migrated to 0021 during a rolling
-- deploy (docs/scaling.md, Upgrades). They passed the hold's ledger fingerprint built in TypeScript
-- (canonicalJson of {op, jobId, amountMicroCents}); today it is built in SQL by tollgate_fingerprint,
-- the same format. The passed one is checked against it and then ignored: the job is opened by
-- today's one implementation (the 15-argument tollgate_open_job). A different fingerprint raises
-- (nothing is written) instead of storing a second format.
CREATE OR REPLACE FUNCTION tollgate_open_job(
  p_job_id text, p_hold_id text, p_txn_id text, p_tenant_id text, p_model text, p_input jsonb,
  p_quote bigint, p_list_cost bigint, p_price_version text, p_tags text[], p_webhook_url text,
  p_idempotency_key text, p_fingerprint text, p_max_duration_seconds integer, p_actor text,
  p_hold_fingerprint text
) RETURNS SETOF jobs LANGUAGE plpgsql AS $$
BEGIN
  IF p_hold_fingerprint IS DISTINCT FROM tollgate_fingerprint('hold', p_job_id, p_quote) THEN
    RAISE EXCEPTION 'tollgate_open_job (compatibility shim): hold fingerprint % differs from %',
      p_hold_fingerprint, tollgate_fingerprint('hold', p_job_id, p_quote);
  END IF;
  RETURN QUERY SELECT * FROM tollgate_open_job(p_job_id, p_hold_id, p_txn_id, p_tenant_id, p_model,
    p_input, p_quote, p_list_cost, p_price_version, p_tags, p_webhook_url, p_idempotency_key,
    p_fingerprint, p_max_duration_seconds, p_actor);
END;
$$;
