// The hold's checks (tenant active, rate, concurrency, daily spend, balance) as TypeScript reads
// them to say which one refused; `tollgate_reserve` (SQL) applies them.
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

/** Which check a refused hold failed, in the documented order; undefined when none fails (any more). */
export async function diagnose(
  ex: Executor,
  tenantId: string,
  amount: bigint,
): Promise<HoldRefusal | undefined> {
  const [r] = await rows<{
    status: string;
    max_concurrent_jobs: number | null;
    daily_spend_limit_micro_cents: bigint | null;
    requests_per_minute: number | null;
    available_micro_cents: bigint | null;
    active_jobs: number | null;
    spent_today: bigint | null;
    window_count: number | null;
    rate_retry: number;
    day_retry: number;
  }>(
    ex,
    sql`
    WITH clock AS (
      SELECT (now() AT TIME ZONE 'UTC')::date AS today, date_trunc('minute', now(), 'UTC') AS minute
    )
    SELECT t.status, t.max_concurrent_jobs, t.daily_spend_limit_micro_cents, t.requests_per_minute,
      b.available_micro_cents, b.active_jobs,
      CASE WHEN b.spend_day = c.today THEN b.spend_today_micro_cents ELSE 0 END AS spent_today,
      CASE WHEN b.rate_window_start = c.minute THEN b.rate_window_count ELSE 0 END AS window_count,
      greatest(1, ceil(extract(epoch FROM (c.minute + interval '1 minute' - now()))))::int AS rate_retry,
      greatest(1, ceil(extract(epoch FROM (((c.today + 1)::timestamp AT TIME ZONE 'UTC') - now()))))::int AS day_retry
    FROM tenants t CROSS JOIN clock c LEFT JOIN tenant_balances b ON b.tenant_id = t.id
    WHERE t.id = ${tenantId}`,
  );
  if (!r || r.available_micro_cents === null) return { ok: false, reason: 'TENANT_NOT_FOUND' };
  if (r.status !== 'active') return { ok: false, reason: 'TENANT_SUSPENDED' };
  if (r.requests_per_minute !== null && (r.window_count ?? 0) >= r.requests_per_minute) {
    return { ok: false, reason: 'RATE_LIMIT', limit: r.requests_per_minute, retryAfterSeconds: r.rate_retry };
  }
  if (r.max_concurrent_jobs !== null && (r.active_jobs ?? 0) >= r.max_concurrent_jobs) {
    return { ok: false, reason: 'CONCURRENT_JOBS_LIMIT', limit: r.max_concurrent_jobs };
  }
  if (
    r.daily_spend_limit_micro_cents !== null &&
    (r.spent_today ?? 0n) + amount > r.daily_spend_limit_micro_cents
  ) {
    return {
      ok: false,
      reason: 'DAILY_SPEND_LIMIT',
      limit: r.daily_spend_limit_micro_cents,
      retryAfterSeconds: r.day_retry,
    };
  }
  if (r.available_micro_cents < amount) {
    return {
      ok: false,
      reason: 'INSUFFICIENT_BALANCE',
      requiredMicroCents: amount,
      availableMicroCents: r.available_micro_cents,
    };
  }
  return undefined;
}
