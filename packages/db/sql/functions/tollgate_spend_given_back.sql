-- Today's spend after `p_amount` of a hold went back to the tenant (released, refunded, or the part
-- of a partial capture not charged): released or refunded money was not spent, so it is un-counted
-- from today's spend if the hold was made today (`p_hold_day`, UTC). A hold made on an earlier UTC
-- day does not touch today's counter. The one definition: tollgate_capture_hold, and the release
-- and refund statements in TypeScript (packages/db/src/ledger/hold-resolution.ts).
CREATE OR REPLACE FUNCTION tollgate_spend_given_back(
  p_spend_day date, p_spend_today bigint, p_hold_day date, p_amount bigint
) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_spend_day = p_hold_day AND p_spend_day = (now() AT TIME ZONE 'UTC')::date
              THEN greatest(p_spend_today - p_amount, 0) ELSE p_spend_today END
$$;
