-- The poller's claim (claimJobsToPoll): up to p_limit jobs in flight with an upstream id and due for
-- a poll, oldest due first, skipping rows another instance holds (FOR UPDATE SKIP LOCKED); each has
-- its next poll pushed out with exponential backoff (5 s, 10 s, … capped at 5 min). A `pending` /
-- `processing` job past its deadline is left to the resolver (claimOverdueJobs).
-- `SET enable_bitmapscan = off`: an index scan of jobs_poll_idx in next_poll_at order, never a bitmap
-- scan. Every job that left the poll index (completed, claimed again) leaves a dead entry behind
-- until VACUUM, all of them due by now. A plain index scan marks each dead entry it meets (the next
-- scans skip it) and stops at p_limit live rows; a bitmap scan, which the planner picked on a young
-- database (no statistics yet), fetched every dead entry's heap page on every claim and sorted: at
-- 200 submits/s, 1,400 entries read a claim after 4,000 jobs and 21,700 after 13,500; with this, ~50
-- (bench/HISTORY.md, "Mid-rate cost"). A function so that the setting and the claim are one round
-- trip (it was BEGIN, SET LOCAL, UPDATE, COMMIT: four, ten times a second per gateway).
CREATE OR REPLACE FUNCTION tollgate_claim_jobs_to_poll(p_limit integer, p_min_age_seconds integer)
RETURNS SETOF jobs LANGUAGE sql SET enable_bitmapscan = off AS $$
  UPDATE jobs SET
      poll_attempts = poll_attempts + 1,
      next_poll_at = now() + make_interval(secs => least(300, 5 * power(2, least(poll_attempts, 10))))
    WHERE id IN (
      SELECT id FROM jobs
       WHERE status IN ('submitting', 'pending', 'processing', 'unknown')
         AND upstream_job_id IS NOT NULL
         AND next_poll_at <= now()
         AND NOT (status IN ('pending', 'processing') AND deadline_at < now())
         AND created_at <= now() - make_interval(secs => p_min_age_seconds)
       ORDER BY next_poll_at
       LIMIT greatest(1, p_limit)
       FOR UPDATE SKIP LOCKED)
    RETURNING *
$$;
