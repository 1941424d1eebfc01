-- Upstream cost (and whether it is known) are the figures that depend on a job's mutable fields
-- (its upstream cost is learned at capture or later; its status and error decide whether Pixelbyte
-- refunded the operator), so they are kept by two IMMEDIATE triggers that replay the changes in order:
-- - a capture / refund transaction adds what it is worth given the job as it is now
--   (tollgate_usage_worth: + cost for a capture, − cost for a refund when Pixelbyte refunded the
--   operator; a capture with the cost unknown and not refunded upstream: 1 job and its charge);
-- - a change of the job's upstream cost, status or error adds, for each of its capture / refund
--   transactions already written, the difference between what it is worth after and before.
-- So the roll-up always holds Σ over capture/refund transactions of what each is worth with the
-- job as it is NOW: what usage_rollup_events computes. Each touches a roll-up row only when what
-- it adds is not zero, and after the balance row is locked on every money path (the transaction is
-- written after the balance update; a job's refund classification changes with its refund).
-- A single statement must not both write a job's capture/refund transaction and change that job's
-- upstream cost, status or error (both triggers would see both changes); reconcile would flag it.
-- `p_captured` is the capture's charge (its hold's captured amount: known before the transaction
-- is written, equal to its platform_revenue line).
-- PL/pgSQL, not SQL (migration 0027): tollgate_usage_upstream_of_transaction and
-- tollgate_usage_upstream_of_job call it in FROM, where Postgres does not inline a function that
-- returns one row, and before Postgres 18 it planned the SQL body again on every call: once per
-- capture on every job's path (the job trigger calls it only when a job's upstream cost changes or
-- it fails or is cancelled upstream, twice per capture/refund transaction then). As PL/pgSQL its
-- expressions are planned once per session. Same definition, same results.
CREATE OR REPLACE FUNCTION tollgate_usage_worth(
  p_kind ledger_kind, p_captured bigint, p_cost bigint, p_status job_status, p_error jsonb,
  OUT upstream bigint, OUT unknown_jobs bigint, OUT unknown_charged bigint
) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_refunded boolean := tollgate_upstream_refunded_the_operator(p_status, p_error);
  v_unknown boolean := p_kind = 'capture' AND p_cost IS NULL AND NOT v_refunded;
BEGIN
  upstream := CASE WHEN p_kind = 'capture' THEN coalesce(p_cost, 0)
                   WHEN p_kind = 'refund' AND v_refunded THEN -coalesce(p_cost, 0)
                   ELSE 0 END;
  unknown_jobs := CASE WHEN v_unknown THEN 1 ELSE 0 END;
  unknown_charged := CASE WHEN v_unknown THEN coalesce(p_captured, 0) ELSE 0 END;
END;
$$;
