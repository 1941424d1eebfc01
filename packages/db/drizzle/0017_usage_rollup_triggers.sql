-- Custom SQL: the daily usage roll-up (usage_daily, usage_daily_tags; 0016) is kept exact by
-- triggers, in the SAME transaction as the ledger movement or job transition it counts. Triggers,
-- not calls added to each money function: every path that moves money (open, capture, complete,
-- release, refund, expire, admin resolve, the group-commit functions, and any path added later)
-- inserts a ledger transaction or changes a job's status, so none can forget the roll-up.
--
-- What is counted (the same definition as the ledger-scan report it replaces):
-- - money, dated by the ledger transaction (UTC day): a `capture` adds its platform_revenue lines to
--   charged and the job's upstream cost to upstream cost; a `refund` adds −(its platform_revenue
--   lines) to refunded and, when Pixelbyte refunded the operator (the job failed or was cancelled
--   upstream, tollgate_upstream_refunded_the_operator), subtracts the job's upstream cost; a capture
--   of a job whose upstream cost is unknown (never learned) and that Pixelbyte did not refund counts
--   in upstream_cost_unknown_jobs, its charge in upstream_cost_unknown_charged_micro_cents (its
--   upstream cost counts as 0: the margin includes it whole);
-- - jobs, dated by the job's creation (UTC day): +1 job when created, and one count per current
--   status bucket (completed, failed, cancelled, rejected, in flight), moved on every transition.
-- - mode: every row is 'live' until test mode gives jobs and ledger transactions a book of their own.
--
-- Job counts and revenue are kept by DEFERRED triggers (they run at COMMIT): they depend only on
-- rows that never change (a line, a transaction, a job's tenant, model, creation and tags) and on
-- the OLD/NEW status of each transition, so when they run does not change what they add, and at
-- COMMIT the transaction already holds the tenant's balance row (reserve, capture, release, refund
-- and a completion's active_jobs decrement all update it, though tollgate_complete_job updates the
-- job first): roll-up rows of a tenant are then only locked by the transaction holding that
-- tenant's balance row, which adds no lock order and no wait. Upstream cost depends on a job's
-- mutable fields and is kept by immediate triggers, explained below.
--
-- Backfill: the roll-up of everything already in the database is computed from the ledger by the
-- views below (the same views `reconcile` compares the roll-up with), in this migration's
-- transaction: creating the triggers locks jobs and ledger_transactions against writes until it
-- commits, so no movement falls between the backfill and the triggers.

-- Pixelbyte refunded the operator for a job that failed or was cancelled upstream; not for one
-- tollgate ended on its own while it ran upstream (the deadline sweep, an admin's refund: its error
-- carries ENDED_BY_TOLLGATE = { source: 'tollgate' }, packages/db/src/ledger/jobs.ts). The one
-- definition the roll-up, the reconciliation and the reports use.
CREATE FUNCTION tollgate_upstream_refunded_the_operator(p_status job_status, p_error jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(p_status IN ('failed', 'cancelled') AND coalesce(p_error->>'source', '') <> 'tollgate', false)
$$;
--> statement-breakpoint

-- Adds one event's counters to its day's row, and to the day's row of each of the job's distinct
-- tags ('' when it has none).
CREATE FUNCTION tollgate_usage_add(
  p_tenant_id text, p_model text, p_day date, p_mode text, p_tags text[],
  p_jobs bigint, p_completed bigint, p_failed bigint, p_cancelled bigint, p_rejected bigint,
  p_in_flight bigint, p_charged bigint, p_refunded bigint, p_upstream bigint,
  p_unknown_jobs bigint, p_unknown_charged bigint
) RETURNS void LANGUAGE sql AS $$
  INSERT INTO usage_daily AS u (tenant_id, model, day, mode, jobs, completed_jobs, failed_jobs,
      cancelled_jobs, rejected_jobs, in_flight_jobs, charged_micro_cents, refunded_micro_cents,
      upstream_cost_micro_cents, upstream_cost_unknown_jobs, upstream_cost_unknown_charged_micro_cents)
    VALUES (p_tenant_id, p_model, p_day, p_mode, p_jobs, p_completed, p_failed, p_cancelled,
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
    SELECT p_tenant_id, p_model, p_day, p_mode, tg.tag, p_jobs, p_completed, p_failed, p_cancelled,
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
$$;
--> statement-breakpoint

-- A job created (+1 job, +1 in its status bucket) or moved between buckets (−1 old, +1 new), on
-- the row of the day it was created.
CREATE FUNCTION tollgate_usage_count_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_new text := NEW.status::text;
  v_old text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status::text ELSE '' END;
BEGIN
  PERFORM tollgate_usage_add(NEW.tenant_id, NEW.model, (NEW.created_at AT TIME ZONE 'UTC')::date,
    'live', NEW.tags,
    CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
    (v_new = 'completed')::int - (v_old = 'completed')::int,
    (v_new = 'failed')::int - (v_old = 'failed')::int,
    (v_new = 'cancelled')::int - (v_old = 'cancelled')::int,
    (v_new = 'rejected')::int - (v_old = 'rejected')::int,
    (v_new IN ('submitting', 'pending', 'processing', 'unknown'))::int
      - (v_old IN ('submitting', 'pending', 'processing', 'unknown'))::int,
    0, 0, 0, 0, 0);
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- Revenue: a platform_revenue line of a capture (charged) or a refund (refunded, as a positive
-- amount), on the row of the day of its transaction. Lines, transactions, and a job's tenant, model
-- and tags never change, so this can wait for COMMIT.
CREATE FUNCTION tollgate_usage_count_revenue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_txn ledger_transactions;
  v_job jobs;
BEGIN
  SELECT * INTO v_txn FROM ledger_transactions WHERE id = NEW.transaction_id;
  IF v_txn.kind NOT IN ('capture', 'refund') THEN
    RETURN NULL;
  END IF;
  IF v_txn.job_id IS NOT NULL THEN
    SELECT * INTO v_job FROM jobs WHERE id = v_txn.job_id;
  END IF;
  PERFORM tollgate_usage_add(v_txn.tenant_id, coalesce(v_job.model, ''),
    (v_txn.created_at AT TIME ZONE 'UTC')::date, 'live', coalesce(v_job.tags, '{}'::text[]),
    0, 0, 0, 0, 0, 0,
    CASE WHEN v_txn.kind = 'capture' THEN NEW.amount_micro_cents ELSE 0 END,
    CASE WHEN v_txn.kind = 'refund' THEN -NEW.amount_micro_cents ELSE 0 END,
    0, 0, 0);
  RETURN NULL;
END;
$$;
--> statement-breakpoint

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
CREATE FUNCTION tollgate_usage_worth(
  p_kind ledger_kind, p_captured bigint, p_cost bigint, p_status job_status, p_error jsonb,
  OUT upstream bigint, OUT unknown_jobs bigint, OUT unknown_charged bigint
) LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_kind = 'capture' THEN coalesce(p_cost, 0)
              WHEN p_kind = 'refund' AND tollgate_upstream_refunded_the_operator(p_status, p_error)
                THEN -coalesce(p_cost, 0)
              ELSE 0 END,
         CASE WHEN unknown THEN 1 ELSE 0 END,
         CASE WHEN unknown THEN coalesce(p_captured, 0) ELSE 0 END
    FROM (SELECT p_kind = 'capture' AND p_cost IS NULL
                 AND NOT tollgate_upstream_refunded_the_operator(p_status, p_error) AS unknown) x
$$;
--> statement-breakpoint

CREATE FUNCTION tollgate_usage_upstream_of_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_job jobs;
  v_captured bigint;
  w record;
BEGIN
  SELECT * INTO v_job FROM jobs WHERE id = NEW.job_id;
  SELECT captured_micro_cents INTO v_captured FROM holds WHERE id = NEW.hold_id;
  SELECT * INTO w
    FROM tollgate_usage_worth(NEW.kind, v_captured, v_job.upstream_cost_micro_cents, v_job.status, v_job.error);
  IF w.upstream <> 0 OR w.unknown_jobs <> 0 THEN
    PERFORM tollgate_usage_add(NEW.tenant_id, v_job.model, (NEW.created_at AT TIME ZONE 'UTC')::date,
      'live', v_job.tags, 0, 0, 0, 0, 0, 0, 0, 0, w.upstream, w.unknown_jobs, w.unknown_charged);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE FUNCTION tollgate_usage_upstream_of_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t record;
  a record;
  b record;
BEGIN
  FOR t IN SELECT x.kind, x.created_at, h.captured_micro_cents AS captured
             FROM ledger_transactions x LEFT JOIN holds h ON h.id = x.hold_id
            WHERE x.job_id = NEW.id AND x.kind IN ('capture', 'refund') LOOP
    SELECT * INTO a
      FROM tollgate_usage_worth(t.kind, t.captured, NEW.upstream_cost_micro_cents, NEW.status, NEW.error);
    SELECT * INTO b
      FROM tollgate_usage_worth(t.kind, t.captured, OLD.upstream_cost_micro_cents, OLD.status, OLD.error);
    IF a.upstream <> b.upstream OR a.unknown_jobs <> b.unknown_jobs OR a.unknown_charged <> b.unknown_charged THEN
      PERFORM tollgate_usage_add(NEW.tenant_id, NEW.model, (t.created_at AT TIME ZONE 'UTC')::date,
        'live', NEW.tags, 0, 0, 0, 0, 0, 0, 0, 0, a.upstream - b.upstream,
        a.unknown_jobs - b.unknown_jobs, a.unknown_charged - b.unknown_charged);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE CONSTRAINT TRIGGER jobs_usage_rollup_created AFTER INSERT ON jobs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tollgate_usage_count_job();
--> statement-breakpoint
-- Only transitions that change a bucket (pending → processing, submitting → unknown… do not).
CREATE CONSTRAINT TRIGGER jobs_usage_rollup_status AFTER UPDATE OF status ON jobs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
        AND (OLD.status IN ('completed', 'failed', 'cancelled', 'rejected')
             OR NEW.status IN ('completed', 'failed', 'cancelled', 'rejected')))
  EXECUTE FUNCTION tollgate_usage_count_job();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_lines_usage_rollup AFTER INSERT ON ledger_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.account = 'platform_revenue')
  EXECUTE FUNCTION tollgate_usage_count_revenue();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_usage_upstream AFTER INSERT ON ledger_transactions
  FOR EACH ROW
  WHEN (NEW.kind IN ('capture', 'refund') AND NEW.job_id IS NOT NULL)
  EXECUTE FUNCTION tollgate_usage_upstream_of_transaction();
--> statement-breakpoint
CREATE TRIGGER jobs_usage_upstream AFTER UPDATE OF upstream_cost_micro_cents, status, error ON jobs
  FOR EACH ROW
  WHEN (OLD.upstream_cost_micro_cents IS DISTINCT FROM NEW.upstream_cost_micro_cents
        OR tollgate_upstream_refunded_the_operator(OLD.status, OLD.error)
           IS DISTINCT FROM tollgate_upstream_refunded_the_operator(NEW.status, NEW.error))
  EXECUTE FUNCTION tollgate_usage_upstream_of_job();
--> statement-breakpoint

-- The roll-up recomputed from the ledger and the jobs, one row per event: what the triggers add up.
-- Read by reconcile (roll-up = ledger) and by the backfill below; a full scan, never by a report.
CREATE VIEW usage_rollup_events AS
  SELECT t.tenant_id, coalesce(j.model, '') AS model, (t.created_at AT TIME ZONE 'UTC')::date AS day,
         'live'::text AS mode, coalesce(j.tags, '{}'::text[]) AS tags,
         0::bigint AS jobs, 0::bigint AS completed_jobs, 0::bigint AS failed_jobs,
         0::bigint AS cancelled_jobs, 0::bigint AS rejected_jobs, 0::bigint AS in_flight_jobs,
         CASE WHEN t.kind = 'capture' THEN coalesce(r.revenue, 0) ELSE 0 END AS charged_micro_cents,
         CASE WHEN t.kind = 'refund' THEN -coalesce(r.revenue, 0) ELSE 0 END AS refunded_micro_cents,
         coalesce(w.upstream, 0) AS upstream_cost_micro_cents,
         coalesce(w.unknown_jobs, 0) AS upstream_cost_unknown_jobs,
         coalesce(w.unknown_charged, 0) AS upstream_cost_unknown_charged_micro_cents
    FROM ledger_transactions t
    LEFT JOIN jobs j ON j.id = t.job_id
    LEFT JOIN holds h ON h.id = t.hold_id
    LEFT JOIN LATERAL (
      SELECT * FROM tollgate_usage_worth(t.kind, h.captured_micro_cents, j.upstream_cost_micro_cents, j.status, j.error)
       WHERE j.id IS NOT NULL
    ) w ON true
    LEFT JOIN (SELECT transaction_id, sum(amount_micro_cents) AS revenue FROM ledger_lines
                WHERE account = 'platform_revenue' GROUP BY transaction_id) r ON r.transaction_id = t.id
   WHERE t.kind IN ('capture', 'refund')
  UNION ALL
  SELECT j.tenant_id, j.model, (j.created_at AT TIME ZONE 'UTC')::date, 'live', j.tags,
         1, (j.status = 'completed')::int, (j.status = 'failed')::int, (j.status = 'cancelled')::int,
         (j.status = 'rejected')::int, (j.status IN ('submitting', 'pending', 'processing', 'unknown'))::int,
         0, 0, 0, 0, 0
    FROM jobs j;
--> statement-breakpoint

CREATE VIEW usage_daily_from_ledger AS
  SELECT tenant_id, model, day, mode,
         sum(jobs)::bigint AS jobs, sum(completed_jobs)::bigint AS completed_jobs,
         sum(failed_jobs)::bigint AS failed_jobs, sum(cancelled_jobs)::bigint AS cancelled_jobs,
         sum(rejected_jobs)::bigint AS rejected_jobs, sum(in_flight_jobs)::bigint AS in_flight_jobs,
         sum(charged_micro_cents)::bigint AS charged_micro_cents,
         sum(refunded_micro_cents)::bigint AS refunded_micro_cents,
         sum(upstream_cost_micro_cents)::bigint AS upstream_cost_micro_cents,
         sum(upstream_cost_unknown_jobs)::bigint AS upstream_cost_unknown_jobs,
         sum(upstream_cost_unknown_charged_micro_cents)::bigint AS upstream_cost_unknown_charged_micro_cents
    FROM usage_rollup_events
   GROUP BY tenant_id, model, day, mode;
--> statement-breakpoint

CREATE VIEW usage_daily_tags_from_ledger AS
  SELECT e.tenant_id, e.model, e.day, e.mode, tg.tag,
         sum(e.jobs)::bigint AS jobs, sum(e.completed_jobs)::bigint AS completed_jobs,
         sum(e.failed_jobs)::bigint AS failed_jobs, sum(e.cancelled_jobs)::bigint AS cancelled_jobs,
         sum(e.rejected_jobs)::bigint AS rejected_jobs, sum(e.in_flight_jobs)::bigint AS in_flight_jobs,
         sum(e.charged_micro_cents)::bigint AS charged_micro_cents,
         sum(e.refunded_micro_cents)::bigint AS refunded_micro_cents,
         sum(e.upstream_cost_micro_cents)::bigint AS upstream_cost_micro_cents,
         sum(e.upstream_cost_unknown_jobs)::bigint AS upstream_cost_unknown_jobs,
         sum(e.upstream_cost_unknown_charged_micro_cents)::bigint AS upstream_cost_unknown_charged_micro_cents
    FROM usage_rollup_events e
    CROSS JOIN LATERAL (
      SELECT DISTINCT coalesce(x.tag, '') AS tag
        FROM unnest(CASE WHEN cardinality(e.tags) > 0 THEN e.tags ELSE ARRAY['']::text[] END) AS x(tag)
    ) tg
   GROUP BY e.tenant_id, e.model, e.day, e.mode, tg.tag;
--> statement-breakpoint

INSERT INTO usage_daily SELECT * FROM usage_daily_from_ledger;
--> statement-breakpoint
INSERT INTO usage_daily_tags SELECT * FROM usage_daily_tags_from_ledger;
