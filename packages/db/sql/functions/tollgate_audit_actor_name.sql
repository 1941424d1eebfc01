-- The audit log records a key's id (actor) AND its name (actor_name), whichever code
-- path wrote the row (ledger operations, admin services, future ones): the writers only know the
-- principal's id, so the name is looked up here, when the row is written. Key names never change
-- and key rows are never deleted, so the name is the one the key had when it acted.
CREATE OR REPLACE FUNCTION tollgate_audit_actor_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.actor_name IS NULL THEN
    IF NEW.actor LIKE 'opk\_%' THEN
      SELECT k.name INTO NEW.actor_name FROM operator_keys k WHERE k.id = NEW.actor;
    ELSE
      SELECT k.name INTO NEW.actor_name FROM api_keys k WHERE k.id = NEW.actor;
    END IF;
  END IF;
  RETURN NEW;
END;
$$;
