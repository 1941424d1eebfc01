-- Custom SQL (not expressible in the Drizzle schema): the guards that make the money invariants hold
-- even if application code is wrong.

-- Invariant 4: ledger rows (and the audit log) are append-only. Any UPDATE, DELETE or TRUNCATE fails.
CREATE FUNCTION tollgate_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
  FOR EACH ROW EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_lines_no_truncate BEFORE TRUNCATE ON ledger_lines
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_reject_mutation();
--> statement-breakpoint

-- Invariant 2 (double entry): at COMMIT, every transaction touched has at least two lines summing to
-- zero. Deferred, so the lines of one movement can be inserted one by one inside its DB transaction.
CREATE FUNCTION tollgate_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tollgate_check_transaction_balanced();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tollgate_check_transaction_balanced();
--> statement-breakpoint

-- jobs.hold_id → holds.id, checked at COMMIT: openJob inserts the job row first (that INSERT is what
-- claims the tenant's idempotency key) and its hold afterwards, in the same DB transaction.
ALTER TABLE jobs ADD CONSTRAINT jobs_hold_id_holds_id_fk FOREIGN KEY (hold_id) REFERENCES holds (id)
  DEFERRABLE INITIALLY DEFERRED;
