-- Adds one event's counters to its day's row, and to the day's row of each of the job's distinct
-- tags ('' when it has none). The mode (book) is the tenant's (tollgate_mode_of); p_mode is ignored.
-- PL/pgSQL, not SQL: Postgres before 18 plans a non-inlined SQL function's statements again on every
-- call, and this one runs for each step of every job (roll-up triggers). Planned once per session
-- instead: 0.48–0.53 → 0.29–0.32 ms a call on PG 15 (pgbench, one call a transaction), 0.34 → 0.30
-- on PG 18 (migration 0026, bench/HISTORY.md "Planned once").
CREATE OR REPLACE FUNCTION tollgate_usage_add(
  p_tenant_id text, p_model text, p_day date, p_mode text, p_tags text[],
  p_jobs bigint, p_completed bigint, p_failed bigint, p_cancelled bigint, p_rejected bigint,
  p_in_flight bigint, p_charged bigint, p_refunded bigint, p_upstream bigint,
  p_unknown_jobs bigint, p_unknown_charged bigint
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_daily AS u (tenant_id, model, day, mode, jobs, completed_jobs, failed_jobs,
      cancelled_jobs, rejected_jobs, in_flight_jobs, charged_micro_cents, refunded_micro_cents,
      upstream_cost_micro_cents, upstream_cost_unknown_jobs, upstream_cost_unknown_charged_micro_cents)
    VALUES (p_tenant_id, p_model, p_day, tollgate_mode_of(p_tenant_id), p_jobs, p_completed, p_failed, p_cancelled,
      p_rejected, p_in_flight, p_charged, p_refunded, p_upstream, p_unknown_jobs, p_unknown_charged)
  ON CONFLICT (tenant_id, model, day, mode) DO UPDATE SET
    jobs = u.jobs + EXCLUDED.jobs,
    completed_jobs = u.completed_jobs + EXCLUDED.completed_jobs,
    failed_jobs = u.failed_jobs + EXCLUDED.failed_jobs,
    cancelled_jobs = u.cancelled_jobs + EXCLUDED.cancelled_jobs,
    rejected_jobs = u.rejected_jobs + EXCLUDED.rejected_jobs,
    in_flight_jobs = u.in_flight_jobs + EXCLUDED.in_flight_jobs,
    charged_micro_cents = u.charged_micro_cents + EXCLUDED.charged_micro_cents,
    refunded_micro_cents = u.refunded_micro_cents + EXCLUDED.refunded_micro_cents,
    upstream_cost_micro_cents = u.upstream_cost_micro_cents + EXCLUDED.upstream_cost_micro_cents,
    upstream_cost_unknown_jobs = u.upstream_cost_unknown_jobs + EXCLUDED.upstream_cost_unknown_jobs,
    upstream_cost_unknown_charged_micro_cents =
      u.upstream_cost_unknown_charged_micro_cents + EXCLUDED.upstream_cost_unknown_charged_micro_cents;
  INSERT INTO usage_daily_tags AS u (tenant_id, model, day, mode, tag, jobs, completed_jobs,
      failed_jobs, cancelled_jobs, rejected_jobs, in_flight_jobs, charged_micro_cents,
      refunded_micro_cents, upstream_cost_micro_cents, upstream_cost_unknown_jobs,
      upstream_cost_unknown_charged_micro_cents)
    SELECT p_tenant_id, p_model, p_day, tollgate_mode_of(p_tenant_id), tg.tag, p_jobs, p_completed, p_failed, p_cancelled,
        p_rejected, p_in_flight, p_charged, p_refunded, p_upstream, p_unknown_jobs, p_unknown_charged
      FROM (SELECT DISTINCT coalesce(x.tag, '') AS tag
              FROM unnest(CASE WHEN cardinality(p_tags) > 0 THEN p_tags ELSE ARRAY['']::text[] END) AS x(tag)) tg
  ON CONFLICT (tenant_id, model, day, mode, tag) DO UPDATE SET
    jobs = u.jobs + EXCLUDED.jobs,
    completed_jobs = u.completed_jobs + EXCLUDED.completed_jobs,
    failed_jobs = u.failed_jobs + EXCLUDED.failed_jobs,
    cancelled_jobs = u.cancelled_jobs + EXCLUDED.cancelled_jobs,
    rejected_jobs = u.rejected_jobs + EXCLUDED.rejected_jobs,
    in_flight_jobs = u.in_flight_jobs + EXCLUDED.in_flight_jobs,
    charged_micro_cents = u.charged_micro_cents + EXCLUDED.charged_micro_cents,
    refunded_micro_cents = u.refunded_micro_cents + EXCLUDED.refunded_micro_cents,
    upstream_cost_micro_cents = u.upstream_cost_micro_cents + EXCLUDED.upstream_cost_micro_cents,
    upstream_cost_unknown_jobs = u.upstream_cost_unknown_jobs + EXCLUDED.upstream_cost_unknown_jobs,
    upstream_cost_unknown_charged_micro_cents =
      u.upstream_cost_unknown_charged_micro_cents + EXCLUDED.upstream_cost_unknown_charged_micro_cents;
END;
$$;
