// Settle: money goes back to the tenant. Release (held → available: upstream refused, the outcome
// stayed unknown too long) and refund (revenue → available: upstream failed or cancelled, the
// deadline passed), each at most once per hold, with the job's terminal transition.
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { type Job, jobs } from '../schema';
import {
  balancesOf,
  existingByKey,
  giveBackSpend,
  type RefundResult,
  type ReleaseResult,
  type ResolveOptions,
  readHold,
  resolveHoldAndBalance,
} from './hold-resolution';
import { fingerprint, inTransaction, jsonSafe, postTransaction, type Tx } from './internal';
import { ENDED_BY_TOLLGATE, freeJobSlot, type JobError, jobActor, lockJob, saveJob } from './job-row';

/** Release within an open transaction (used by `release` and the job operations). */
export async function releaseInTx(tx: Tx, holdId: string, opts: ResolveOptions): Promise<ReleaseResult> {
  const key = `release:${holdId}`;
  const h = await resolveHoldAndBalance(
    tx,
    sql`UPDATE holds SET status = 'released', resolved_at = now() WHERE id = ${holdId} AND status = 'open'`,
    sql`held_micro_cents = tb.held_micro_cents - h.amount_micro_cents,
        available_micro_cents = tb.available_micro_cents + h.amount_micro_cents,
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
  if (h.job_id === null) await freeJobSlot(tx, h.tenant_id);
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
      requestFingerprint: fingerprint('release', holdId),
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
export async function refundInTx(tx: Tx, holdId: string, opts: ResolveOptions): Promise<RefundResult> {
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
      requestFingerprint: fingerprint('refund', holdId),
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

export interface ReleaseJobInput {
  jobId: string;
  status: 'rejected';
  error: JobError;
  actor?: string;
}

/**
 * Upstream definitively refused (or the request was never sent): release the hold (the tenant is
 * not charged), job → `rejected`. Idempotent; a job already accepted (or released) is returned
 * unchanged, and `released` says whether this call released the hold.
 *
 * A `submitting` job also gives its idempotency key back (moved to `released_idempotency_key` in
 * the same transaction): Pixelbyte created nothing, so a retry with the same key must make a fresh
 * attempt instead of replaying the refusal forever. An `unknown` job keeps its key: upstream may
 * have created the job, and a retry must never create a second one.
 */
export async function releaseJob(
  db: Db,
  input: ReleaseJobInput,
): Promise<{ ok: true; job: Job; released: boolean }> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    if (job.status !== 'submitting' && job.status !== 'unknown')
      return { ok: true as const, job, released: false };
    const released = await releaseInTx(tx, job.holdId, {
      actor: jobActor(job, input.actor),
      reason: `upstream rejected: ${input.error.code}`,
    });
    if (!released.ok) throw new Error(`bug: job ${job.id} hold not releasable: ${released.reason}`);
    await freeJobSlot(tx, job.tenantId);
    const releaseKey = job.status === 'submitting' && job.idempotencyKey !== null;
    const saved = await saveJob(tx, job.id, {
      status: input.status,
      error: jsonSafe(input.error),
      completedAt: sql`now()`,
      nextPollAt: null,
      ...(releaseKey ? { idempotencyKey: null, releasedIdempotencyKey: job.idempotencyKey } : {}),
    });
    return { ok: true as const, job: saved, released: true };
  });
}

export type ExpireUnknownJobResult =
  | { ok: true; job: Job; expired: boolean }
  | { ok: false; reason: 'JOB_NOT_FOUND' };

/**
 * An `unknown` job whose outcome is still unknown `graceSeconds` after it became unknown (DB clock):
 * release its hold (the tenant is not charged), job → `rejected` with UNKNOWN_OUTCOME_EXPIRED and
 * `needs_review` (Pixelbyte may have charged the operator). Otherwise returns the job unchanged.
 */
export async function expireUnknownJob(
  db: Db,
  input: { jobId: string; graceSeconds: number; actor?: string },
): Promise<ExpireUnknownJobResult> {
  return inTransaction<ExpireUnknownJobResult>(db, async (tx) => {
    const [job] = await tx
      .select({
        job: jobs,
        due: sql<boolean>`${jobs.updatedAt} <= now() - make_interval(secs => ${input.graceSeconds})`,
      })
      .from(jobs)
      .where(eq(jobs.id, input.jobId))
      .for('update');
    if (!job) return { ok: false, reason: 'JOB_NOT_FOUND' };
    if (job.job.status !== 'unknown' || !job.due) return { ok: true, job: job.job, expired: false };
    const released = await releaseInTx(tx, job.job.holdId, {
      actor: jobActor(job.job, input.actor),
      reason: 'unknown outcome expired',
    });
    if (!released.ok)
      throw new Error(`bug: unknown job ${job.job.id} hold not releasable: ${released.reason}`);
    await freeJobSlot(tx, job.job.tenantId);
    const saved = await saveJob(tx, job.job.id, {
      status: 'rejected',
      needsReview: true,
      error: {
        code: 'UNKNOWN_OUTCOME_EXPIRED',
        message: `upstream outcome still unknown after ${input.graceSeconds}s; hold released`,
      },
      completedAt: sql`now()`,
      nextPollAt: null,
    });
    return { ok: true, job: saved, expired: true };
  });
}

export type ExpireOverdueJobResult =
  | { ok: true; job: Job; expired: boolean }
  | { ok: false; reason: 'JOB_NOT_FOUND' };

/**
 * Invariant 5: a `pending`/`processing` job past its deadline (DB clock) is ended. Policy: the tenant
 * does not pay for a job that missed its deadline — the charge is refunded exactly once (same refund
 * path as an upstream failure), job → `failed` with DEADLINE_EXCEEDED, its concurrency slot is freed,
 * and it is flagged `needs_review` (Pixelbyte may still have charged the operator; finance checks).
 * Anything else (not overdue, terminal, submitting/unknown — the unknown resolver's) is returned unchanged.
 * With `minOverdueSeconds`, only a job at least that far past its deadline is ended (DB clock).
 */
export async function expireOverdueJob(
  db: Db,
  input: { jobId: string; actor?: string; minOverdueSeconds?: number },
): Promise<ExpireOverdueJobResult> {
  return inTransaction<ExpireOverdueJobResult>(db, async (tx) => {
    const [row] = await tx
      .select({
        job: jobs,
        overdue: sql<boolean>`${jobs.deadlineAt} < now() - make_interval(secs => ${input.minOverdueSeconds ?? 0})`,
      })
      .from(jobs)
      .where(eq(jobs.id, input.jobId))
      .for('update');
    if (!row) return { ok: false, reason: 'JOB_NOT_FOUND' };
    const job = row.job;
    if ((job.status !== 'pending' && job.status !== 'processing') || !row.overdue)
      return { ok: true, job, expired: false };
    const refunded = await refundInTx(tx, job.holdId, {
      actor: jobActor(job, input.actor),
      reason: 'deadline exceeded',
    });
    if (!refunded.ok) throw new Error(`bug: job ${job.id} charge not refundable: ${refunded.reason}`);
    await freeJobSlot(tx, job.tenantId);
    const saved = await saveJob(tx, job.id, {
      status: 'failed',
      needsReview: true,
      refundedMicroCents: refunded.refundedMicroCents,
      error: {
        code: 'DEADLINE_EXCEEDED',
        message: `job still ${job.status} upstream past its deadline; charge refunded`,
        ...ENDED_BY_TOLLGATE,
      },
      completedAt: sql`now()`,
      nextPollAt: null,
    });
    return { ok: true, job: saved, expired: true };
  });
}
