-- The request fingerprint of a hold movement's ledger transaction: canonical JSON (keys sorted,
-- amounts as decimal strings), the format replays compare with what is stored, so it never changes
-- for an existing op. The one place these are built: the SQL money functions call it, and the
-- TypeScript ledger embeds the call in its INSERT (`fingerprint` in packages/db/src/ledger/internal.ts).
-- Ops: `hold` (subject: the job id, amount: the quote), `bare_hold` (subject: the tenant id),
-- `capture` (subject: the hold id, amount: the captured amount), `release` and `refund` (the hold id).
-- Top-ups and adjustments fingerprint their caller's request (reference, reason) in credits.ts.
-- STABLE, not IMMUTABLE (migration 0027): format() and to_json() are STABLE, and Postgres does not
-- inline an IMMUTABLE function whose body is not, so it ran as a SQL function on every hold and
-- capture (planned again on every call before Postgres 18). STABLE, it is inlined into the
-- statement that calls it: 5.2 → 1.2 µs a call on PG 15 in a PL/pgSQL loop.
CREATE OR REPLACE FUNCTION tollgate_fingerprint(p_op text, p_subject text, p_amount bigint)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE p_op
    WHEN 'hold' THEN format('{"amountMicroCents":"%s","jobId":%s,"op":"hold"}', p_amount, to_json(p_subject))
    WHEN 'bare_hold' THEN format('{"amountMicroCents":"%s","op":"hold","tenantId":%s}', p_amount, to_json(p_subject))
    WHEN 'capture' THEN format('{"capturedMicroCents":"%s","holdId":%s,"op":"capture"}', p_amount, to_json(p_subject))
    WHEN 'release' THEN format('{"holdId":%s,"op":"release"}', to_json(p_subject))
    WHEN 'refund' THEN format('{"holdId":%s,"op":"refund"}', to_json(p_subject))
  END
$$;
