-- Revenue: a platform_revenue line of a capture (charged) or a refund (refunded, as a positive
-- amount), on the row of the day of its transaction. Lines, transactions, and a job's tenant, model
-- and tags never change, so this can wait for COMMIT. A job's capture was already counted at its
-- hold's captured amount when its transaction was written (tollgate_usage_upstream_of_transaction),
-- so only a difference between the line and that amount is added (none on any path that captures);
-- so the roll-up stays equal to the ledger's lines for any capture with one revenue line (the only
-- kind there is: tollgate_capture_hold, the one implementation of a capture, writes one).
CREATE OR REPLACE FUNCTION tollgate_usage_count_revenue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_txn ledger_transactions;
  v_job jobs;
  v_charged bigint := 0;
BEGIN
  SELECT * INTO v_txn FROM ledger_transactions WHERE id = NEW.transaction_id;
  IF v_txn.kind NOT IN ('capture', 'refund') THEN
    RETURN NULL;
  END IF;
  IF v_txn.kind = 'capture' THEN
    v_charged := NEW.amount_micro_cents;
    IF v_txn.job_id IS NOT NULL THEN
      -- Minus what the transaction trigger counted (nothing without a hold row).
      v_charged := v_charged - coalesce((SELECT captured_micro_cents FROM holds WHERE id = v_txn.hold_id), 0);
      IF v_charged = 0 THEN
        RETURN NULL;
      END IF;
    END IF;
  END IF;
  IF v_txn.job_id IS NOT NULL THEN
    SELECT * INTO v_job FROM jobs WHERE id = v_txn.job_id;
  END IF;
  PERFORM tollgate_usage_add(v_txn.tenant_id, coalesce(v_job.model, ''),
    (v_txn.created_at AT TIME ZONE 'UTC')::date, 'live', coalesce(v_job.tags, '{}'::text[]),
    0, 0, 0, 0, 0, 0,
    v_charged,
    CASE WHEN v_txn.kind = 'refund' THEN -NEW.amount_micro_cents ELSE 0 END,
    0, 0, 0);
  RETURN NULL;
END;
$$;
