// The hold's checks (tenant active, rate, concurrency, daily spend, balance). ONE definition, in SQL:
// `tollgate_hold_refusal` (packages/db/sql/functions), which `tollgate_reserve`'s conditional UPDATE
// applies and `holdRefusal` reads to say which check refuses, with the figures the refusal carries.
import { sql } from 'drizzle-orm';
import { type Executor, rows } from './internal';

/** Why a hold was refused. Checked in this order when several apply. */
export type HoldRefusal =
  | { ok: false; reason: 'TENANT_NOT_FOUND' }
  | { ok: false; reason: 'TENANT_SUSPENDED' }
  | { ok: false; reason: 'RATE_LIMIT'; limit: number; retryAfterSeconds: number }
  /** No retryAfterSeconds: a slot frees when one of the tenant's jobs ends. */
  | { ok: false; reason: 'CONCURRENT_JOBS_LIMIT'; limit: number; retryAfterSeconds?: never }
  /** `limit` is in micro-cents; retryAfterSeconds counts to the next UTC midnight (DB clock). */
  | { ok: false; reason: 'DAILY_SPEND_LIMIT'; limit: bigint; retryAfterSeconds: number }
  | { ok: false; reason: 'INSUFFICIENT_BALANCE'; requiredMicroCents: bigint; availableMicroCents: bigint };

type HoldRefusalReason = Exclude<HoldRefusal['reason'], 'TENANT_NOT_FOUND'>;

/**
 * Which check refuses a hold of `amount` for the tenant now, by `tollgate_hold_refusal` (the rules
 * `tollgate_reserve` applies); undefined when none does. With `lock` (inside a transaction) the
 * tenant's balance row is read FOR UPDATE, so the answer holds until the transaction ends: a
 * reserve made after `undefined` in the same transaction cannot be refused by a balance change.
 */
export async function holdRefusal(
  ex: Executor,
  tenantId: string,
  amount: bigint,
  opts: { lock: boolean },
): Promise<HoldRefusal | undefined> {
  const [r] = await rows<{
    reason: HoldRefusalReason | null;
    max_concurrent_jobs: number | null;
    daily_spend_limit_micro_cents: bigint | null;
    requests_per_minute: number | null;
    available_micro_cents: bigint;
    rate_retry: number;
    day_retry: number;
  }>(
    ex,
    sql`
    WITH clock AS (
      SELECT (now() AT TIME ZONE 'UTC')::date AS today, date_trunc('minute', now(), 'UTC') AS minute
    )
    SELECT tollgate_hold_refusal(t.status::text, t.requests_per_minute, t.max_concurrent_jobs,
        t.daily_spend_limit_micro_cents,
        CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END, b.active_jobs,
        CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents ELSE 0 END,
        b.available_micro_cents, ${amount}::bigint) AS reason,
      t.max_concurrent_jobs, t.daily_spend_limit_micro_cents, t.requests_per_minute, b.available_micro_cents,
      greatest(1, ceil(extract(epoch FROM (c.minute + interval '1 minute' - now()))))::int AS rate_retry,
      greatest(1, ceil(extract(epoch FROM (((c.today + 1)::timestamp AT TIME ZONE 'UTC') - now()))))::int AS day_retry
    FROM tenant_balances b JOIN tenants t ON t.id = b.tenant_id CROSS JOIN clock c
    WHERE b.tenant_id = ${tenantId}
    ${opts.lock ? sql`FOR UPDATE OF b` : sql``}`,
  );
  if (!r) return { ok: false, reason: 'TENANT_NOT_FOUND' };
  switch (r.reason) {
    case null:
      return undefined;
    case 'TENANT_SUSPENDED':
      return { ok: false, reason: 'TENANT_SUSPENDED' };
    case 'RATE_LIMIT':
      return {
        ok: false,
        reason: 'RATE_LIMIT',
        limit: Number(r.requests_per_minute),
        retryAfterSeconds: r.rate_retry,
      };
    case 'CONCURRENT_JOBS_LIMIT':
      return { ok: false, reason: 'CONCURRENT_JOBS_LIMIT', limit: Number(r.max_concurrent_jobs) };
    case 'DAILY_SPEND_LIMIT':
      return {
        ok: false,
        reason: 'DAILY_SPEND_LIMIT',
        limit: r.daily_spend_limit_micro_cents ?? 0n,
        retryAfterSeconds: r.day_retry,
      };
    case 'INSUFFICIENT_BALANCE':
      return {
        ok: false,
        reason: 'INSUFFICIENT_BALANCE',
        requiredMicroCents: amount,
        availableMicroCents: r.available_micro_cents,
      };
    default: {
      const never: never = r.reason;
      throw new Error(`unknown hold refusal ${String(never)}`);
    }
  }
}
