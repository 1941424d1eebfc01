-- Invariant 4: ledger rows (and the audit log) are append-only. Any UPDATE, DELETE or TRUNCATE fails.
CREATE OR REPLACE FUNCTION tollgate_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;
