-- The book of a tenant's money and jobs in the usage roll-up: 'test' for a sandbox (`tst_…`; the
-- tenants CHECK ties that prefix to mode test), 'live' otherwise.
CREATE OR REPLACE FUNCTION tollgate_mode_of(p_tenant_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN left(p_tenant_id, 4) = 'tst_' THEN 'test' ELSE 'live' END
$$;
