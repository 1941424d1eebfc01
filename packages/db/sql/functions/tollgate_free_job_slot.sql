-- Frees one of a tenant's concurrency slots (active_jobs − 1): a job reached a terminal state, or a
-- bare hold (no job) was resolved. The one place a slot is freed (tollgate_complete_job,
-- tollgate_capture_hold, and `freeJobSlot` in TypeScript for every other job end). Never below zero:
-- `active_jobs` could drift below the true count (a bug, a hand edit, a restore) and a plain
-- decrement would then break the CHECK (active_jobs >= 0), so the job could never end (every retry
-- fails, the money stays held); reconcile reports the drift (ACTIVE_JOBS_MISMATCH) while it lasts.
CREATE OR REPLACE FUNCTION tollgate_free_job_slot(p_tenant_id text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE tenant_balances SET active_jobs = greatest(active_jobs - 1, 0), updated_at = now()
    WHERE tenant_id = p_tenant_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'bug: no balance row for tenant %', p_tenant_id;
  END IF;
END;
$$;
