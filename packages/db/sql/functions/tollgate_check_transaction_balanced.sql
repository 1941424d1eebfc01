-- Invariant 2 (double entry): at COMMIT, every transaction touched has at least two lines summing to
-- zero. Deferred, so the lines of one movement can be inserted one by one inside its DB transaction.
CREATE OR REPLACE FUNCTION tollgate_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  txn_id text;
  line_count bigint;
  line_sum numeric;
BEGIN
  IF TG_TABLE_NAME = 'ledger_lines' THEN
    txn_id := NEW.transaction_id;
  ELSE
    txn_id := NEW.id;
  END IF;
  SELECT count(*), coalesce(sum(amount_micro_cents), 0) INTO line_count, line_sum
    FROM ledger_lines WHERE transaction_id = txn_id;
  IF line_count < 2 OR line_sum <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced (% lines, sum %)', txn_id, line_count, line_sum
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
