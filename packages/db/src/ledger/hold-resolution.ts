// Resolving a hold (capture, release, refund): the result types, and the one statement that
// changes the hold and the tenant's balance together. Used by capture.ts and settle.ts.
import { eq, type SQL, sql } from 'drizzle-orm';
import { type HoldStatus, ledgerTransactions } from '../schema';
import { rows, type Tx } from './internal';

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

export interface ResolvedHold {
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
export async function resolveHoldAndBalance(
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

export function balancesOf(
  h: ResolvedHold,
): { available_micro_cents: bigint; held_micro_cents: bigint } | undefined {
  if (h.available_micro_cents === null || h.held_micro_cents === null) return undefined;
  return { available_micro_cents: h.available_micro_cents, held_micro_cents: h.held_micro_cents };
}

export async function readHold(tx: Tx, holdId: string): Promise<HoldState | undefined> {
  const [h] = await rows<HoldState>(
    tx,
    sql`SELECT status, amount_micro_cents, captured_micro_cents, refunded_at FROM holds WHERE id = ${holdId}`,
  );
  return h;
}

export async function existingByKey(tx: Tx, key: string): Promise<{ id: string; fp: string } | undefined> {
  const [t] = await tx
    .select({ id: ledgerTransactions.id, fp: ledgerTransactions.requestFingerprint })
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.idempotencyKey, key));
  return t;
}

/**
 * Today's spend once `amount` of the hold went back to the tenant (`tollgate_spend_given_back`, the
 * one definition, shared with tollgate_capture_hold): un-counted if the hold was made today.
 */
export function giveBackSpend(amount: SQL) {
  return sql`tollgate_spend_given_back(tb.spend_day, tb.spend_today_micro_cents, h.day, ${amount})`;
}

/**
 * Who resolves a hold and why. A bare hold (no job) frees its concurrency slot when it is resolved;
 * a job's hold leaves that to the job step, at the job's terminal state (`freeJobSlot`).
 */
export interface ResolveOptions {
  actor: string;
  reason?: string;
}
