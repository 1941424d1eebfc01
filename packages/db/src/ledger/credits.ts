// Admin money movements: top-ups and signed adjustments of a tenant's available balance.
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { ledgerLines, ledgerTransactions } from '../schema';
import {
  canonicalJson,
  inTransaction,
  isAmount,
  isPositiveAmount,
  lockKey,
  MAX_MICRO_CENTS,
  postTransaction,
  rows,
  type Tx,
  writeAudit,
} from './internal';

export interface TopUpInput {
  tenantId: string;
  amountMicroCents: bigint;
  /** Caller's key: a replay with the same arguments returns the original result. */
  idempotencyKey: string;
  /** External reference (payment id, invoice number…). */
  reference: string;
  actor: string;
  requestId?: string;
  /**
   * The most the tenant's money (available + held) may reach after the credit; above it the credit is
   * refused (AMOUNT_OUT_OF_RANGE, nothing written). Default: the bigint range. The API passes 2^53 − 1,
   * the largest amount its wire carries exactly.
   */
  ceilingMicroCents?: bigint;
}

export interface AdjustInput {
  tenantId: string;
  /** Signed: positive credits the tenant, negative debits (never below zero). */
  amountMicroCents: bigint;
  idempotencyKey: string;
  reason: string;
  actor: string;
  requestId?: string;
  /**
   * The most the tenant's money (available + held) may reach after the credit; above it the credit is
   * refused (AMOUNT_OUT_OF_RANGE, nothing written). Default: the bigint range. The API passes 2^53 − 1,
   * the largest amount its wire carries exactly.
   */
  ceilingMicroCents?: bigint;
}

export type CreditResult =
  | {
      ok: true;
      transactionId: string;
      replayed: boolean;
      availableMicroCents: bigint;
      /** The caller key the credit was recorded under (on a replay by reference: the original's). */
      idempotencyKey: string;
    }
  | {
      ok: false;
      /** A top-up with this tenant and reference exists for another amount (the reference is its identity). */
      reason: 'REFERENCE_CONFLICT';
      transactionId: string;
      amountMicroCents: bigint;
    }
  | {
      ok: false;
      /**
       * INVALID_AMOUNT: not a bigint, zero (or negative for a top-up), or beyond the Postgres bigint range.
       * AMOUNT_OUT_OF_RANGE: the tenant's money (available + held) would exceed `ceilingMicroCents`
       * (default: the bigint range).
       */
      reason: 'IDEMPOTENCY_CONFLICT' | 'TENANT_NOT_FOUND' | 'INVALID_AMOUNT' | 'AMOUNT_OUT_OF_RANGE';
    };

export type AdjustResult =
  | CreditResult
  | { ok: false; reason: 'INSUFFICIENT_BALANCE'; availableMicroCents: bigint; requiredMicroCents: bigint };

// Caller keys of top-ups and adjustments share one namespace, distinct from the keys the ledger
// derives for holds, so no caller key can ever collide with (and block) a hold resolution.
const CREDIT_KEY_PREFIX = 'credit:';
const creditKey = (key: string) => `${CREDIT_KEY_PREFIX}${key}`;

/** A committed credit with its tenant_available line (what a replay answers). */
async function findCredit(tx: Tx, where: SQL | undefined) {
  const [existing] = await tx
    .select({
      id: ledgerTransactions.id,
      key: ledgerTransactions.idempotencyKey,
      fingerprint: ledgerTransactions.requestFingerprint,
      amount: ledgerLines.amountMicroCents,
      availableAfter: ledgerLines.balanceAfterMicroCents,
    })
    .from(ledgerTransactions)
    .innerJoin(
      ledgerLines,
      sql`${ledgerLines.transactionId} = ${ledgerTransactions.id} AND ${ledgerLines.account} = 'tenant_available'`,
    )
    .where(where);
  return existing;
}

function replayed(existing: NonNullable<Awaited<ReturnType<typeof findCredit>>>): CreditResult {
  return {
    ok: true,
    transactionId: existing.id,
    replayed: true,
    availableMicroCents: existing.availableAfter ?? 0n,
    idempotencyKey: existing.key.slice(CREDIT_KEY_PREFIX.length),
  };
}

/** Replays a committed credit with the same key: same fingerprint → original result, else conflict. */
async function replayCredit(tx: Tx, key: string, fingerprint: string): Promise<CreditResult | undefined> {
  const existing = await findCredit(tx, eq(ledgerTransactions.idempotencyKey, key));
  if (!existing) return undefined;
  if (existing.fingerprint !== fingerprint) return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
  return replayed(existing);
}

/**
 * A top-up's reference (payment id, invoice…) is its identity, whatever key it came with: the same
 * tenant and reference again is a replay when the amount is the same (the original's answer), and a
 * REFERENCE_CONFLICT when it is not (a second credit for one payment was the bug). Called under the
 * reference's advisory lock; a unique index (tenant_id, reference) on top-ups backs it.
 */
async function replayTopUpReference(
  tx: Tx,
  tenantId: string,
  reference: string,
  amount: bigint,
): Promise<CreditResult | undefined> {
  const existing = await findCredit(
    tx,
    and(
      eq(ledgerTransactions.kind, 'top_up'),
      eq(ledgerTransactions.tenantId, tenantId),
      eq(ledgerTransactions.reference, reference),
    ),
  );
  if (!existing) return undefined;
  if (existing.amount !== amount)
    return {
      ok: false,
      reason: 'REFERENCE_CONFLICT',
      transactionId: existing.id,
      amountMicroCents: existing.amount,
    };
  return replayed(existing);
}

/**
 * The ledger transaction of a credit, after its caller moved the tenant's available balance: a
 * top-up (platform_funding −x, tenant_available +x) or an adjustment (platform_adjustments ∓x,
 * tenant_available ±x). The one place these lines are written: topUp, adjust, and the sandbox's
 * test credits (sandbox.ts).
 */
export async function postCredit(
  tx: Tx,
  c: {
    kind: 'top_up' | 'adjustment';
    tenantId: string;
    amountMicroCents: bigint;
    availableAfterMicroCents: bigint;
    idempotencyKey: string;
    requestFingerprint: string;
    reference?: string;
    reason?: string;
    actor: string;
  },
): Promise<string> {
  const id = newId('txn');
  await postTransaction(
    tx,
    {
      id,
      kind: c.kind,
      tenantId: c.tenantId,
      idempotencyKey: c.idempotencyKey,
      requestFingerprint: c.requestFingerprint,
      reference: c.reference ?? null,
      reason: c.reason ?? null,
      actor: c.actor,
    },
    [
      {
        account: c.kind === 'top_up' ? 'platform_funding' : 'platform_adjustments',
        tenantId: null,
        amountMicroCents: -c.amountMicroCents,
        balanceAfterMicroCents: null,
      },
      {
        account: 'tenant_available',
        tenantId: c.tenantId,
        amountMicroCents: c.amountMicroCents,
        balanceAfterMicroCents: c.availableAfterMicroCents,
      },
    ],
  );
  return id;
}

/** Adds money to a tenant's available balance (platform_funding −x, tenant_available +x). */
/** The ceiling a credit's conditional UPDATE checks: the caller's, never above the bigint range. */
function ceilingOf(input: { ceilingMicroCents?: bigint }): bigint {
  const c = input.ceilingMicroCents;
  return c === undefined || c > MAX_MICRO_CENTS ? MAX_MICRO_CENTS : c;
}

export async function topUp(db: Db, input: TopUpInput): Promise<CreditResult> {
  if (!isPositiveAmount(input.amountMicroCents)) return { ok: false, reason: 'INVALID_AMOUNT' };
  const amount = input.amountMicroCents;
  const key = creditKey(input.idempotencyKey);
  const fingerprint = canonicalJson({
    op: 'top_up',
    tenantId: input.tenantId,
    amountMicroCents: amount,
    reference: input.reference,
  });
  return inTransaction<CreditResult>(db, async (tx, refuse) => {
    await lockKey(tx, key);
    const replay = await replayCredit(tx, key, fingerprint);
    if (replay) return replay;
    await lockKey(tx, `top-up-reference:${input.tenantId}:${input.reference}`);
    const byReference = await replayTopUpReference(tx, input.tenantId, input.reference, amount);
    if (byReference) return byReference;
    const [balance] = await rows<{ available_micro_cents: bigint }>(
      tx,
      sql`UPDATE tenant_balances
          SET available_micro_cents = available_micro_cents + ${amount}, updated_at = now()
          WHERE tenant_id = ${input.tenantId} AND available_micro_cents <= ${ceilingOf(input) - amount} - held_micro_cents
          RETURNING available_micro_cents`,
    );
    if (!balance) {
      const exists = await rows(tx, sql`SELECT 1 FROM tenant_balances WHERE tenant_id = ${input.tenantId}`);
      return refuse({ ok: false, reason: exists.length ? 'AMOUNT_OUT_OF_RANGE' : 'TENANT_NOT_FOUND' });
    }
    const transactionId = await postCredit(tx, {
      kind: 'top_up',
      tenantId: input.tenantId,
      amountMicroCents: amount,
      availableAfterMicroCents: balance.available_micro_cents,
      idempotencyKey: key,
      requestFingerprint: fingerprint,
      reference: input.reference,
      actor: input.actor,
    });
    await writeAudit(tx, {
      actor: input.actor,
      action: 'credits.top_up',
      targetType: 'tenant',
      targetId: input.tenantId,
      after: { transactionId, amountMicroCents: amount, reference: input.reference },
      requestId: input.requestId,
    });
    return {
      ok: true,
      transactionId,
      replayed: false,
      availableMicroCents: balance.available_micro_cents,
      idempotencyKey: input.idempotencyKey,
    };
  });
}

/**
 * Signed correction of a tenant's available balance (platform_adjustments ∓x, tenant_available ±x).
 * A debit never takes the balance below zero: the conditional UPDATE refuses and nothing is written.
 */
export async function adjust(db: Db, input: AdjustInput): Promise<AdjustResult> {
  const amount = input.amountMicroCents;
  if (!isAmount(amount) || amount === 0n || amount > MAX_MICRO_CENTS || amount < -MAX_MICRO_CENTS) {
    return { ok: false, reason: 'INVALID_AMOUNT' };
  }
  const key = creditKey(input.idempotencyKey);
  const fingerprint = canonicalJson({
    op: 'adjustment',
    tenantId: input.tenantId,
    amountMicroCents: amount,
    reason: input.reason,
  });
  return inTransaction<AdjustResult>(db, async (tx, refuse) => {
    await lockKey(tx, key);
    const replay = await replayCredit(tx, key, fingerprint);
    if (replay) return replay;
    const [balance] = await rows<{ available_micro_cents: bigint }>(
      tx,
      amount > 0n
        ? sql`UPDATE tenant_balances
              SET available_micro_cents = available_micro_cents + ${amount}, updated_at = now()
              WHERE tenant_id = ${input.tenantId} AND available_micro_cents <= ${ceilingOf(input) - amount} - held_micro_cents
              RETURNING available_micro_cents`
        : sql`UPDATE tenant_balances
              SET available_micro_cents = available_micro_cents - ${-amount}, updated_at = now()
              WHERE tenant_id = ${input.tenantId} AND available_micro_cents >= ${-amount}
              RETURNING available_micro_cents`,
    );
    if (!balance) {
      const [current] = await rows<{ available_micro_cents: bigint }>(
        tx,
        sql`SELECT available_micro_cents FROM tenant_balances WHERE tenant_id = ${input.tenantId}`,
      );
      if (!current) return refuse({ ok: false, reason: 'TENANT_NOT_FOUND' });
      if (amount > 0n) return refuse({ ok: false, reason: 'AMOUNT_OUT_OF_RANGE' });
      return refuse({
        ok: false,
        reason: 'INSUFFICIENT_BALANCE',
        availableMicroCents: current.available_micro_cents,
        requiredMicroCents: -amount,
      });
    }
    const transactionId = await postCredit(tx, {
      kind: 'adjustment',
      tenantId: input.tenantId,
      amountMicroCents: amount,
      availableAfterMicroCents: balance.available_micro_cents,
      idempotencyKey: key,
      requestFingerprint: fingerprint,
      reason: input.reason,
      actor: input.actor,
    });
    await writeAudit(tx, {
      actor: input.actor,
      action: 'credits.adjust',
      targetType: 'tenant',
      targetId: input.tenantId,
      after: { transactionId, amountMicroCents: amount, reason: input.reason },
      requestId: input.requestId,
    });
    return {
      ok: true,
      transactionId,
      replayed: false,
      availableMicroCents: balance.available_micro_cents,
      idempotencyKey: input.idempotencyKey,
    };
  });
}
