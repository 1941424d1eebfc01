// Capture: a hold is charged (held → revenue) when upstream accepted its job. `captureJob` is the
// job step (`tollgate_capture_job`, grouped); `captureInTx` the hold-level capture admin resolve uses.
import { sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import type { Job } from '../schema';
import { groupedJobStep } from './group-commit';
import {
  activeJobDecrement,
  balancesOf,
  type CaptureResult,
  existingByKey,
  giveBackSpend,
  type ResolveOptions,
  readHold,
  resolveHoldAndBalance,
} from './hold-resolution';
import { canonicalJson, type Executor, postTransaction, preparedRows, rows, type Tx } from './internal';
import { jobFromRow, lockJob, saveJob } from './job-row';

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

/** The arguments of `tollgate_capture_job` (amounts as exact decimal strings, times as ISO). */
interface CaptureEntry {
  jobId: string;
  txnId: string;
  upstreamJobId: string | null;
  upstreamCost: string | null;
  estimatedCompletionTime: string | null;
  actor: string | null;
}

function captureEntry(
  jobId: string,
  upstream: {
    upstreamJobId: string | null;
    upstreamCostMicroCents: bigint | null;
    estimatedCompletionTime: Date | null;
  },
  actor: string | undefined,
): CaptureEntry {
  return {
    jobId,
    txnId: newId('txn'),
    upstreamJobId: upstream.upstreamJobId,
    upstreamCost: upstream.upstreamCostMicroCents?.toString() ?? null,
    estimatedCompletionTime: upstream.estimatedCompletionTime?.toISOString() ?? null,
    actor: actor ?? null,
  };
}

/**
 * Captures a `submitting`/`unknown` job's hold and moves it to `pending` (`tollgate_capture_job`,
 * migration 0006: one statement). Undefined when the job is in any other state (nothing changed).
 * Runs on its own (autocommit) or inside a caller's transaction that already locked the job.
 */
async function captureAlone(ex: Executor, e: CaptureEntry): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    ex,
    sql`SELECT * FROM tollgate_capture_job(${e.jobId}, ${e.txnId}, ${e.upstreamJobId},
      ${e.upstreamCost}::bigint, ${e.estimatedCompletionTime}::timestamptz, ${e.actor})`,
  );
  return row ? jobFromRow(row) : undefined;
}

export async function captureAccepted(
  ex: Executor,
  jobId: string,
  upstream: Parameters<typeof captureEntry>[1],
  actor: string | undefined,
): Promise<Job | undefined> {
  return captureAlone(ex, captureEntry(jobId, upstream, actor));
}

/** Captures outside a transaction, grouped with concurrent ones. */
const captureGrouped = groupedJobStep(captureAlone, 'tollgate_capture_jobs');

export interface CaptureJobInput {
  jobId: string;
  upstreamJobId: string;
  /**
   * What Pixelbyte says it charged; compared with the list price (cost_mismatch). null = not known
   * (e.g. the id came from a webhook: the status endpoint does not report the cost).
   */
  upstreamCostMicroCents: bigint | null;
  estimatedCompletionTime: Date | null;
  actor?: string;
}

/**
 * Upstream accepted the job: capture the hold (the tenant is charged the quote), store the upstream
 * id and cost, job → `pending`. Idempotent. If the job was already released (`rejected`, e.g. its
 * unknown outcome expired), the tenant is NOT charged after the fact: the job is flagged
 * `needs_review` for finance instead. A second, different upstream id is flagged the same way.
 * `captured` says whether this call captured the hold (false on a replay, for a job another path
 * captured or released first, and for an upstream id that is another job's: the job comes back `unknown`).
 */
export async function captureJob(
  db: Db,
  input: CaptureJobInput,
): Promise<{ ok: true; job: Job; captured: boolean }> {
  const upstream = {
    upstreamJobId: input.upstreamJobId,
    upstreamCostMicroCents: input.upstreamCostMicroCents,
    estimatedCompletionTime: input.estimatedCompletionTime,
  };
  // The usual case (the job is still `submitting`): one statement, no transaction round trips.
  const captured = await captureGrouped(db, captureEntry(input.jobId, upstream, input.actor));
  if (captured) return { ok: true, job: captured, captured: captured.status !== 'unknown' };
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    switch (job.status) {
      case 'submitting':
      case 'unknown': {
        // Not reached in practice (no state goes back to these), kept so every state is handled.
        const again = await captureAccepted(tx, job.id, upstream, input.actor);
        if (!again) throw new Error(`bug: job ${job.id} (${job.status}) not capturable`);
        return { ok: true as const, job: again, captured: again.status !== 'unknown' };
      }
      case 'rejected':
        return {
          ok: true as const,
          job: await saveJob(tx, job.id, {
            needsReview: true,
            ...(await linkUpstreamJobId(tx, job, input.upstreamJobId)),
            upstreamCostMicroCents: job.upstreamCostMicroCents ?? input.upstreamCostMicroCents,
          }),
          captured: false,
        };
      case 'pending':
      case 'processing':
      case 'completed':
      case 'failed':
      case 'cancelled':
        if (job.upstreamJobId !== null && job.upstreamJobId !== input.upstreamJobId) {
          return {
            ok: true as const,
            job: await saveJob(tx, job.id, { needsReview: true }),
            captured: false,
          };
        }
        // A webhook/poller captured first (cost unknown: the status endpoint does not report it);
        // the submit's answer brings Pixelbyte's charge: keep it for finance (no money moves).
        if (job.upstreamCostMicroCents === null && input.upstreamCostMicroCents !== null) {
          const upstreamCost = input.upstreamCostMicroCents;
          return {
            ok: true as const,
            job: await saveJob(tx, job.id, {
              upstreamJobId: job.upstreamJobId ?? input.upstreamJobId,
              upstreamCostMicroCents: upstreamCost,
              costMismatch: upstreamCost !== job.listCostMicroCents,
            }),
            captured: false,
          };
        }
        return { ok: true as const, job, captured: false };
      default: {
        const never: never = job.status;
        throw new Error(`unhandled job status ${String(never)}`);
      }
    }
  });
}

/**
 * The fields that link `job` to `upstreamJobId`, for a job that has none yet: the id itself when no
 * other job holds it, else (one upstream job named for two of ours) the id kept aside as
 * `collidedUpstreamJobId` and the job flagged needs_review. Serialised per upstream id by
 * `tollgate_upstream_job_id_free` (migration 0014), the check the capture function makes too.
 */
export async function linkUpstreamJobId(
  tx: Tx,
  job: Job,
  upstreamJobId: string | undefined,
): Promise<
  { upstreamJobId: string } | { collidedUpstreamJobId: string; needsReview: true } | Record<string, never>
> {
  if (job.upstreamJobId !== null || upstreamJobId === undefined) return {};
  const [row] = await rows<{ free: boolean }>(
    tx,
    sql`SELECT tollgate_upstream_job_id_free(${job.id}, ${upstreamJobId}) AS free`,
  );
  return row?.free ? { upstreamJobId } : { collidedUpstreamJobId: upstreamJobId, needsReview: true };
}
