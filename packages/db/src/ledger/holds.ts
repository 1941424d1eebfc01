// Holds: money moved from a tenant's available to held balance before a job is sent upstream, then
// captured (charged), released (given back), and a capture possibly refunded once.
import { eq, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { type HoldStatus, holds, ledgerLines, ledgerTransactions } from '../schema';
import {
  canonicalJson,
  type Executor,
  inTransaction,
  isPositiveAmount,
  lockKey,
  postTransaction,
  rows,
  type Tx,
} from './internal';

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

interface Reserved {
  ok: true;
  availableMicroCents: bigint;
  heldMicroCents: bigint;
}

/**
 * The single conditional UPDATE of a hold (`tollgate_reserve`, migration 0006, shared with
 * `tollgate_open_job`): moves `amount` from available to held only if the tenant is active, has the
 * money, and is within every limit; bumps the limit counters in the same statement (resetting the
 * day / minute window inline when it rolled over on the DB clock).
 * On refusal, reads the row in the same transaction to say which check failed.
 */
export async function reserve(tx: Tx, tenantId: string, amount: bigint): Promise<Reserved | HoldRefusal> {
  // A refusal diagnosed as "nothing fails" means a concurrent transaction changed the row between
  // the two statements (read committed): simply try again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const [updated] = await rows<{ available_micro_cents: bigint; held_micro_cents: bigint }>(
      tx,
      sql`SELECT * FROM tollgate_reserve(${tenantId}, ${amount})`,
    );
    if (updated) {
      return {
        ok: true,
        availableMicroCents: updated.available_micro_cents,
        heldMicroCents: updated.held_micro_cents,
      };
    }
    const refusal = await diagnose(tx, tenantId, amount);
    if (refusal) return refusal;
  }
  throw new Error(`hold for ${tenantId} kept failing without a failing check (contention?)`);
}

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

/** Inserts the hold row and its ledger transaction (available −x, held +x) after `reserve` succeeded. */
export async function recordHold(
  tx: Tx,
  h: {
    holdId: string;
    tenantId: string;
    jobId: string | null;
    amount: bigint;
    idempotencyKey: string;
    fingerprint: string;
    actor: string;
    reserved: Reserved;
  },
): Promise<string> {
  const transactionId = newId('txn');
  await postTransaction(
    tx,
    {
      id: transactionId,
      kind: 'hold',
      tenantId: h.tenantId,
      holdId: h.holdId,
      jobId: h.jobId,
      idempotencyKey: h.idempotencyKey,
      requestFingerprint: h.fingerprint,
      actor: h.actor,
    },
    [
      {
        account: 'tenant_available',
        tenantId: h.tenantId,
        amountMicroCents: -h.amount,
        balanceAfterMicroCents: h.reserved.availableMicroCents,
      },
      {
        account: 'tenant_held',
        tenantId: h.tenantId,
        amountMicroCents: h.amount,
        balanceAfterMicroCents: h.reserved.heldMicroCents,
      },
    ],
    // The hold row goes in the same statement as its ledger transaction (one round trip).
    sql`INSERT INTO holds (id, tenant_id, job_id, amount_micro_cents)
        VALUES (${h.holdId}, ${h.tenantId}, ${h.jobId}, ${h.amount})`,
  );
  return transactionId;
}

export interface HoldInput {
  tenantId: string;
  amountMicroCents: bigint;
  idempotencyKey: string;
  actor: string;
}

export type HoldResult =
  | {
      ok: true;
      holdId: string;
      transactionId: string;
      replayed: boolean;
      availableMicroCents: bigint;
      heldMicroCents: bigint;
    }
  | HoldRefusal
  | { ok: false; reason: 'IDEMPOTENCY_CONFLICT' | 'INVALID_AMOUNT' };

/** Balances right after a hold transaction (both of its lines are always written), for replays. */
async function balancesAfter(tx: Tx, transactionId: string): Promise<{ available: bigint; held: bigint }> {
  const lines = await tx
    .select({ account: ledgerLines.account, after: ledgerLines.balanceAfterMicroCents })
    .from(ledgerLines)
    .where(eq(ledgerLines.transactionId, transactionId));
  const after = (account: string) => lines.find((l) => l.account === account)?.after ?? 0n;
  return { available: after('tenant_available'), held: after('tenant_held') };
}

/**
 * A bare hold (no job): reserves money under the tenant's balance and limits. Counts as one active
 * job until it is captured or released. Jobs use `openJob`, which does this and more.
 */
export async function hold(db: Db, input: HoldInput): Promise<HoldResult> {
  if (!isPositiveAmount(input.amountMicroCents)) return { ok: false, reason: 'INVALID_AMOUNT' };
  const amount = input.amountMicroCents;
  const key = `hold:${input.idempotencyKey}`;
  const fingerprint = canonicalJson({ op: 'hold', tenantId: input.tenantId, amountMicroCents: amount });
  return inTransaction<HoldResult>(db, async (tx, refuse) => {
    await lockKey(tx, key);
    const [existing] = await tx
      .select({
        id: ledgerTransactions.id,
        holdId: ledgerTransactions.holdId,
        fp: ledgerTransactions.requestFingerprint,
      })
      .from(ledgerTransactions)
      .where(eq(ledgerTransactions.idempotencyKey, key));
    if (existing) {
      if (existing.fp !== fingerprint || !existing.holdId)
        return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
      const after = await balancesAfter(tx, existing.id);
      return {
        ok: true,
        holdId: existing.holdId,
        transactionId: existing.id,
        replayed: true,
        availableMicroCents: after.available,
        heldMicroCents: after.held,
      };
    }
    const reserved = await reserve(tx, input.tenantId, amount);
    if (!reserved.ok) return refuse(reserved);
    const holdId = newId('hold');
    const transactionId = await recordHold(tx, {
      holdId,
      tenantId: input.tenantId,
      jobId: null,
      amount,
      idempotencyKey: key,
      fingerprint,
      actor: input.actor,
      reserved,
    });
    return {
      ok: true,
      holdId,
      transactionId,
      replayed: false,
      availableMicroCents: reserved.availableMicroCents,
      heldMicroCents: reserved.heldMicroCents,
    };
  });
}

export type ResolveRefusal =
  | { ok: false; reason: 'HOLD_NOT_FOUND' }
  /** The hold was already resolved the other way (captured vs released). */
  | { ok: false; reason: 'HOLD_ALREADY_RESOLVED'; status: HoldStatus }
  | { ok: false; reason: 'IDEMPOTENCY_CONFLICT' | 'INVALID_AMOUNT' };

export type CaptureResult =
  | {
      ok: true;
      transactionId: string;
      replayed: boolean;
      capturedMicroCents: bigint;
      /** The rest of the hold, released in the same transaction. */
      releasedMicroCents: bigint;
    }
  | ResolveRefusal;

export type ReleaseResult =
  | { ok: true; transactionId: string; replayed: boolean; releasedMicroCents: bigint }
  | ResolveRefusal;

export type RefundResult =
  | { ok: true; transactionId: string; replayed: boolean; refundedMicroCents: bigint }
  | { ok: false; reason: 'HOLD_NOT_FOUND' }
  /** Only a captured hold can be refunded. */
  | { ok: false; reason: 'HOLD_NOT_CAPTURED'; status: HoldStatus }
  /** Captured amount was 0: there is nothing to give back. */
  | { ok: false; reason: 'NOTHING_TO_REFUND' };

interface ResolvedHold {
  tenant_id: string;
  job_id: string | null;
  amount_micro_cents: bigint;
  captured_micro_cents: bigint | null;
  refunded_micro_cents: bigint | null;
  /** UTC day of the hold (it counted towards that day's spend). */
  day: string;
  /** The tenant's balances after the same statement's balance UPDATE; null if that matched no row. */
  available_micro_cents: bigint | null;
  held_micro_cents: bigint | null;
}

/**
 * Resolves a hold and moves the tenant's balance in ONE statement (data-modifying CTE): `holdUpdate`
 * is an `UPDATE holds … WHERE …` (no RETURNING) aliased `h` for `balanceSet` / `balanceWhere`,
 * which update `tenant_balances tb`. One round trip instead of two while the balance row is locked.
 * No row = the hold was not in the expected state (nothing changed); a row with null balances =
 * the balance UPDATE matched nothing (a bug the caller throws on, rolling everything back).
 */
async function resolveHoldAndBalance(
  tx: Tx,
  holdUpdate: SQL,
  balanceSet: SQL,
  balanceWhere: SQL,
): Promise<ResolvedHold | undefined> {
  const [h] = await rows<ResolvedHold>(
    tx,
    sql`
    WITH h AS (
      ${holdUpdate}
      RETURNING tenant_id, job_id, amount_micro_cents, captured_micro_cents, refunded_micro_cents,
        (created_at AT TIME ZONE 'UTC')::date AS day
    ), b AS (
      UPDATE tenant_balances tb SET ${balanceSet}, updated_at = now()
      FROM h WHERE tb.tenant_id = h.tenant_id AND ${balanceWhere}
      RETURNING tb.available_micro_cents, tb.held_micro_cents
    )
    SELECT h.tenant_id, h.job_id, h.amount_micro_cents, h.captured_micro_cents, h.refunded_micro_cents,
      h.day::text AS day, b.available_micro_cents, b.held_micro_cents
    FROM h LEFT JOIN b ON true`,
  );
  return h;
}

interface HoldState {
  status: HoldStatus;
  amount_micro_cents: bigint;
  captured_micro_cents: bigint | null;
  refunded_at: string | null;
}

function balancesOf(
  h: ResolvedHold,
): { available_micro_cents: bigint; held_micro_cents: bigint } | undefined {
  if (h.available_micro_cents === null || h.held_micro_cents === null) return undefined;
  return { available_micro_cents: h.available_micro_cents, held_micro_cents: h.held_micro_cents };
}

async function readHold(tx: Tx, holdId: string): Promise<HoldState | undefined> {
  const [h] = await rows<HoldState>(
    tx,
    sql`SELECT status, amount_micro_cents, captured_micro_cents, refunded_at FROM holds WHERE id = ${holdId}`,
  );
  return h;
}

async function existingByKey(tx: Tx, key: string): Promise<{ id: string; fp: string } | undefined> {
  const [t] = await tx
    .select({ id: ledgerTransactions.id, fp: ledgerTransactions.requestFingerprint })
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.idempotencyKey, key));
  return t;
}

/**
 * Gives money back to available (held → available on release; revenue → available on refund) and
 * un-counts it from today's spend if the hold was made today: released or refunded money was not
 * spent. A hold made on an earlier UTC day does not touch today's counter.
 */
function giveBackSpend(amount: SQL) {
  return sql`CASE WHEN tb.spend_day = h.day AND tb.spend_day = (now() AT TIME ZONE 'UTC')::date
    THEN greatest(tb.spend_today_micro_cents - ${amount}, 0) ELSE tb.spend_today_micro_cents END`;
}

/**
 * Active-job decrement of a bare hold's resolution (a job's hold leaves it to the job op); applied
 * with greatest(…, 0) like every slot release (see endActiveJob in jobs.ts).
 */
function activeJobDecrement(opts: ResolveOptions) {
  return opts.keepActiveJob ? sql`0` : sql`CASE WHEN h.job_id IS NULL THEN 1 ELSE 0 END`;
}

export interface ResolveOptions {
  actor: string;
  reason?: string;
  /** When the hold belongs to a job, the job op decrements active_jobs itself (at the job's terminal state). */
  keepActiveJob?: boolean;
}

/** Capture within an open transaction (used by `capture` and the job operations). */
export async function captureInTx(
  tx: Tx,
  holdId: string,
  amount: bigint | undefined,
  opts: ResolveOptions,
): Promise<CaptureResult> {
  if (amount !== undefined && (typeof amount !== 'bigint' || amount < 0n))
    return { ok: false, reason: 'INVALID_AMOUNT' };
  const key = `capture:${holdId}`;
  const h = await resolveHoldAndBalance(
    tx,
    sql`UPDATE holds SET status = 'captured', resolved_at = now(),
          captured_micro_cents = coalesce(${amount ?? null}::bigint, amount_micro_cents)
        WHERE id = ${holdId} AND status = 'open' AND amount_micro_cents >= coalesce(${amount ?? null}::bigint, 0)`,
    sql`held_micro_cents = tb.held_micro_cents - h.amount_micro_cents,
        available_micro_cents = tb.available_micro_cents + (h.amount_micro_cents - h.captured_micro_cents),
        active_jobs = greatest(tb.active_jobs - ${activeJobDecrement(opts)}, 0),
        spend_today_micro_cents = ${giveBackSpend(sql`(h.amount_micro_cents - h.captured_micro_cents)`)}`,
    sql`tb.held_micro_cents >= h.amount_micro_cents`,
  );
  if (!h) {
    const state = await readHold(tx, holdId);
    if (!state) return { ok: false, reason: 'HOLD_NOT_FOUND' };
    if (state.status === 'released')
      return { ok: false, reason: 'HOLD_ALREADY_RESOLVED', status: 'released' };
    if (state.status === 'open') return { ok: false, reason: 'INVALID_AMOUNT' };
    const fingerprint = canonicalJson({
      op: 'capture',
      holdId,
      capturedMicroCents: amount ?? state.amount_micro_cents,
    });
    const existing = await existingByKey(tx, key);
    if (!existing || existing.fp !== fingerprint) return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
    const captured = state.captured_micro_cents ?? 0n;
    return {
      ok: true,
      transactionId: existing.id,
      replayed: true,
      capturedMicroCents: captured,
      releasedMicroCents: state.amount_micro_cents - captured,
    };
  }
  const captured = h.captured_micro_cents ?? 0n;
  const released = h.amount_micro_cents - captured;
  const b = balancesOf(h);
  if (!b) throw new Error(`bug: tenant ${h.tenant_id} holds less than hold ${holdId}`);
  const transactionId = newId('txn');
  await postTransaction(
    tx,
    {
      id: transactionId,
      kind: 'capture',
      tenantId: h.tenant_id,
      holdId,
      jobId: h.job_id,
      idempotencyKey: key,
      requestFingerprint: canonicalJson({ op: 'capture', holdId, capturedMicroCents: captured }),
      reason: opts.reason ?? null,
      actor: opts.actor,
    },
    [
      {
        account: 'tenant_held',
        tenantId: h.tenant_id,
        amountMicroCents: -h.amount_micro_cents,
        balanceAfterMicroCents: b.held_micro_cents,
      },
      {
        account: 'platform_revenue',
        tenantId: null,
        amountMicroCents: captured,
        balanceAfterMicroCents: null,
      },
      {
        account: 'tenant_available',
        tenantId: h.tenant_id,
        amountMicroCents: released,
        balanceAfterMicroCents: b.available_micro_cents,
      },
    ],
  );
  return {
    ok: true,
    transactionId,
    replayed: false,
    capturedMicroCents: captured,
    releasedMicroCents: released,
  };
}

/** Release within an open transaction (used by `release` and the job operations). */
export async function releaseInTx(tx: Tx, holdId: string, opts: ResolveOptions): Promise<ReleaseResult> {
  const key = `release:${holdId}`;
  const h = await resolveHoldAndBalance(
    tx,
    sql`UPDATE holds SET status = 'released', resolved_at = now() WHERE id = ${holdId} AND status = 'open'`,
    sql`held_micro_cents = tb.held_micro_cents - h.amount_micro_cents,
        available_micro_cents = tb.available_micro_cents + h.amount_micro_cents,
        active_jobs = greatest(tb.active_jobs - ${activeJobDecrement(opts)}, 0),
        spend_today_micro_cents = ${giveBackSpend(sql`h.amount_micro_cents`)}`,
    sql`tb.held_micro_cents >= h.amount_micro_cents`,
  );
  if (!h) {
    const state = await readHold(tx, holdId);
    if (!state) return { ok: false, reason: 'HOLD_NOT_FOUND' };
    if (state.status === 'captured')
      return { ok: false, reason: 'HOLD_ALREADY_RESOLVED', status: 'captured' };
    const existing = await existingByKey(tx, key);
    if (!existing) throw new Error(`bug: hold ${holdId} released without a release transaction`);
    return {
      ok: true,
      transactionId: existing.id,
      replayed: true,
      releasedMicroCents: state.amount_micro_cents,
    };
  }
  const b = balancesOf(h);
  if (!b) throw new Error(`bug: tenant ${h.tenant_id} holds less than hold ${holdId}`);
  const transactionId = newId('txn');
  await postTransaction(
    tx,
    {
      id: transactionId,
      kind: 'release',
      tenantId: h.tenant_id,
      holdId,
      jobId: h.job_id,
      idempotencyKey: key,
      requestFingerprint: canonicalJson({ op: 'release', holdId }),
      reason: opts.reason ?? null,
      actor: opts.actor,
    },
    [
      {
        account: 'tenant_held',
        tenantId: h.tenant_id,
        amountMicroCents: -h.amount_micro_cents,
        balanceAfterMicroCents: b.held_micro_cents,
      },
      {
        account: 'tenant_available',
        tenantId: h.tenant_id,
        amountMicroCents: h.amount_micro_cents,
        balanceAfterMicroCents: b.available_micro_cents,
      },
    ],
  );
  return { ok: true, transactionId, replayed: false, releasedMicroCents: h.amount_micro_cents };
}

/** Refund of a captured hold within an open transaction: the whole captured amount, at most once. */
export async function refundInTx(
  tx: Tx,
  holdId: string,
  opts: Omit<ResolveOptions, 'keepActiveJob'>,
): Promise<RefundResult> {
  const key = `refund:${holdId}`;
  const h = await resolveHoldAndBalance(
    tx,
    sql`UPDATE holds SET refunded_at = now(), refunded_micro_cents = captured_micro_cents
        WHERE id = ${holdId} AND status = 'captured' AND refunded_at IS NULL AND captured_micro_cents > 0`,
    sql`available_micro_cents = tb.available_micro_cents + h.refunded_micro_cents,
        spend_today_micro_cents = ${giveBackSpend(sql`h.refunded_micro_cents`)}`,
    sql`true`,
  );
  if (!h) {
    const state = await readHold(tx, holdId);
    if (!state) return { ok: false, reason: 'HOLD_NOT_FOUND' };
    if (state.status !== 'captured') return { ok: false, reason: 'HOLD_NOT_CAPTURED', status: state.status };
    if (state.refunded_at === null) return { ok: false, reason: 'NOTHING_TO_REFUND' };
    const existing = await existingByKey(tx, key);
    if (!existing) throw new Error(`bug: hold ${holdId} refunded without a refund transaction`);
    return {
      ok: true,
      transactionId: existing.id,
      replayed: true,
      refundedMicroCents: state.captured_micro_cents ?? 0n,
    };
  }
  const amount = h.refunded_micro_cents ?? 0n;
  const b = balancesOf(h);
  if (!b) throw new Error(`bug: no balance row for tenant ${h.tenant_id}`);
  const transactionId = newId('txn');
  await postTransaction(
    tx,
    {
      id: transactionId,
      kind: 'refund',
      tenantId: h.tenant_id,
      holdId,
      jobId: h.job_id,
      idempotencyKey: key,
      requestFingerprint: canonicalJson({ op: 'refund', holdId }),
      reason: opts.reason ?? null,
      actor: opts.actor,
    },
    [
      {
        account: 'platform_revenue',
        tenantId: null,
        amountMicroCents: -amount,
        balanceAfterMicroCents: null,
      },
      {
        account: 'tenant_available',
        tenantId: h.tenant_id,
        amountMicroCents: amount,
        balanceAfterMicroCents: b.available_micro_cents,
      },
    ],
  );
  return { ok: true, transactionId, replayed: false, refundedMicroCents: amount };
}

export interface CaptureInput {
  holdId: string;
  /** Default: the whole hold. Less than the hold: the rest is released in the same transaction. */
  amountMicroCents?: bigint;
  actor: string;
  reason?: string;
}

/**
 * Charges a hold (held → revenue), once. Keyed by the hold id: capturing again with the same
 * amount replays the original result; with another amount it is a conflict; after a release it is
 * HOLD_ALREADY_RESOLVED.
 */
export async function capture(db: Db, input: CaptureInput): Promise<CaptureResult> {
  return inTransaction<CaptureResult>(db, async (tx, refuse) => {
    const result = await captureInTx(tx, input.holdId, input.amountMicroCents, {
      actor: input.actor,
      ...(input.reason ? { reason: input.reason } : {}),
    });
    return result.ok ? result : refuse(result);
  });
}

export interface ReleaseInput {
  holdId: string;
  actor: string;
  reason?: string;
}

/** Gives a hold back (held → available), once. Replays return the original result. */
export async function release(db: Db, input: ReleaseInput): Promise<ReleaseResult> {
  return inTransaction<ReleaseResult>(db, async (tx, refuse) => {
    const result = await releaseInTx(tx, input.holdId, {
      actor: input.actor,
      ...(input.reason ? { reason: input.reason } : {}),
    });
    return result.ok ? result : refuse(result);
  });
}

/** Refunds a captured hold in full (revenue → available), at most once. Replays return the original result. */
export async function refund(db: Db, input: ReleaseInput): Promise<RefundResult> {
  return inTransaction<RefundResult>(db, async (tx, refuse) => {
    const result = await refundInTx(tx, input.holdId, {
      actor: input.actor,
      ...(input.reason ? { reason: input.reason } : {}),
    });
    return result.ok ? result : refuse(result);
  });
}

/** A hold as stored (for tests, admin tools and reconciliation). */
export async function getHold(db: Db, holdId: string) {
  const [h] = await db.select().from(holds).where(eq(holds.id, holdId));
  return h;
}
