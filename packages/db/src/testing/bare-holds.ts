// TEST-ONLY: bare holds (no job): hold, capture, release, refund of a hold by id. The gateway never
// calls these (jobs use openJob / captureJob / releaseJob / advanceJob), so they are not exported from
// `@tollgate/db/ledger`. Tests use them as a small model of a hold's lifecycle: the ledger's own
// hold-level steps (captureInTx, releaseInTx, refundInTx: ../ledger/capture.ts, ../ledger/settle.ts)
// driven directly, with partial captures and idempotency by key (model.test.ts, holds.test.ts).
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { captureInTx } from '../ledger/capture';
import type { CaptureResult, RefundResult, ReleaseResult } from '../ledger/hold-resolution';
import {
  fingerprintOf,
  inTransaction,
  isPositiveAmount,
  lockKey,
  postTransaction,
  rows,
  type Tx,
} from '../ledger/internal';
import { type HoldRefusal, holdRefusal } from '../ledger/limits';
import { refundInTx, releaseInTx } from '../ledger/settle';
import { ledgerLines, ledgerTransactions } from '../schema';

interface Reserved {
  ok: true;
  availableMicroCents: bigint;
  heldMicroCents: bigint;
}

/**
 * The hold's money and limits (`tollgate_reserve`, the conditional UPDATE shared with
 * `tollgate_open_job`), decided first by `holdRefusal` on the locked balance row (the same rules), so
 * a refusal says which check failed and an allowed hold cannot be refused by a concurrent change of
 * the balance row. Only the tenant row is not locked: a suspension or a limit change committed in
 * between refuses the reserve, and the second reading says so.
 */
export async function reserve(tx: Tx, tenantId: string, amount: bigint): Promise<Reserved | HoldRefusal> {
  const refusal = await holdRefusal(tx, tenantId, amount, { lock: true });
  if (refusal) return refusal;
  const [updated] = await rows<{ available_micro_cents: bigint; held_micro_cents: bigint }>(
    tx,
    sql`SELECT * FROM tollgate_reserve(${tenantId}, ${amount})`,
  );
  if (!updated) {
    const changed = await holdRefusal(tx, tenantId, amount, { lock: true });
    if (changed) return changed;
    throw new Error(`bug: tollgate_reserve refused ${tenantId} where tollgate_hold_refusal allows it`);
  }
  return {
    ok: true,
    availableMicroCents: updated.available_micro_cents,
    heldMicroCents: updated.held_micro_cents,
  };
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
  return inTransaction<HoldResult>(db, async (tx, refuse) => {
    const fingerprint = await fingerprintOf(tx, 'bare_hold', input.tenantId, amount);
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
