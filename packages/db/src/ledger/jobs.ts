// Job-level operations: money and job state change together, in one transaction each. These are
// the calls the gateway makes around the upstream submit (which itself happens outside any
// transaction). Every operation is idempotent and a job never moves backwards.

import { and, desc, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import { groupStatements } from '../group';
import { newId } from '../ids';
import { inBook, type Mode } from '../sandbox';
import {
  IN_FLIGHT_JOB_STATUS_LIST,
  IN_FLIGHT_JOB_STATUSES,
  type Job,
  type JobStatus,
  jobs,
  type LedgerAccount,
  type LedgerKind,
  ledgerLines,
  ledgerTransactions,
  TERMINAL_JOB_STATUSES,
} from '../schema';
import { diagnose, type HoldRefusal, refundInTx, releaseInTx } from './holds';
import {
  canonicalJson,
  cursorTime,
  decodeCursor,
  type Executor,
  encodeCursor,
  inTransaction,
  jsonSafe,
  PG_BIGINT_MAX,
  preparedRows,
  rows,
  type Tx,
} from './internal';

export function isTerminal(status: JobStatus): boolean {
  return (TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

/** Default time a job may stay non-terminal before reconcile reports it overdue. */
export const DEFAULT_MAX_DURATION_SECONDS = 3_600;
// The first poll after upstream accepted a job is due 5 s later (set by tollgate_capture_job, migration
// 0006); later polls back off (see claimJobsToPoll).

export interface JobError {
  code: string;
  message: string;
}

/**
 * Stored in the `error` of a job tollgate ended on its own while it still ran upstream (deadline,
 * an admin's decision): Pixelbyte never failed it, so it kept the operator's money (finance's upstream
 * cost). Upstream errors are stored as `{ code, message }` only, so Pixelbyte cannot write it.
 */
export const ENDED_BY_TOLLGATE = { source: 'tollgate' } as const;

export interface OpenJobInput {
  tenantId: string;
  model: string;
  /** The validated, normalised input (stored as jsonb). */
  input: unknown;
  /** What the tenant will be charged (held now, captured on upstream acceptance). */
  quoteMicroCents: bigint;
  listCostMicroCents: bigint;
  priceVersion: string;
  /** Tenant-scoped; omitted = every call is a new job. */
  idempotencyKey?: string;
  /** Hash of the request: the same key with another fingerprint is IDEMPOTENCY_CONFLICT. */
  fingerprint: string;
  tags: string[];
  webhookUrl?: string;
  /** Deadline for reaching a terminal state (default DEFAULT_MAX_DURATION_SECONDS). */
  maxDurationSeconds?: number;
  actor?: string;
}

type LimitRefusal = Extract<
  HoldRefusal,
  { reason: 'CONCURRENT_JOBS_LIMIT' | 'DAILY_SPEND_LIMIT' | 'RATE_LIMIT' }
>;

export type OpenJobResult =
  | { ok: true; job: Job; replayed: boolean }
  | { ok: false; reason: 'INSUFFICIENT_BALANCE'; requiredMicroCents: bigint; availableMicroCents: bigint }
  | LimitRefusal
  | {
      ok: false;
      reason: 'TENANT_NOT_FOUND' | 'TENANT_SUSPENDED' | 'IDEMPOTENCY_CONFLICT' | 'IDEMPOTENCY_IN_FLIGHT';
    };

/**
 * Opens a job: the hold (money + limits, `reserve`), the job row (`submitting`), the hold row and its
 * ledger transaction, all in ONE statement (`tollgate_open_job`, migration 0006): one round trip,
 * the tenant's balance row locked only for that statement. A refusal changes nothing, so a refused
 * key stays free. When the statement returns no job, this reads why: the idempotency key already
 * names a job (replay / conflict / in flight), or which check the hold failed.
 */
export async function openJob(db: Db, input: OpenJobInput): Promise<OpenJobResult> {
  if (typeof input.quoteMicroCents !== 'bigint' || input.quoteMicroCents <= 0n) {
    throw new Error(
      `openJob: quoteMicroCents must be a positive bigint, got ${String(input.quoteMicroCents)}`,
    );
  }
  // A refusal diagnosed as "nothing fails", or a concurrent request that claimed the same key
  // between our check and our insert, means the state moved under us (read committed): try again.
  // The first attempt may be grouped with concurrent opens (group commit, any tenants).
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = openEntry(input);
    const opened = attempt === 0 ? await openGrouped(db, entry) : await tryOpenJob(db, entry);
    if (opened === 'KEY_RACE') continue;
    if (opened) return { ok: true, job: opened, replayed: false };
    if (input.idempotencyKey !== undefined) {
      const existing = await findByKey(db, input.tenantId, input.idempotencyKey);
      if (existing) {
        if (existing.fingerprint !== input.fingerprint) return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
        if (existing.status === 'submitting') return { ok: false, reason: 'IDEMPOTENCY_IN_FLIGHT' };
        return { ok: true, job: existing, replayed: true };
      }
    }
    const refusal = await diagnose(db, input.tenantId, input.quoteMicroCents);
    if (refusal) return refusal;
  }
  throw new Error(`openJob for ${input.tenantId} kept failing without a failing check (contention?)`);
}

/** One attempt at opening a job: the arguments of `tollgate_open_job`, fresh ids included. */
interface OpenEntry {
  jobId: string;
  holdId: string;
  txnId: string;
  tenantId: string;
  model: string;
  input: unknown;
  quote: bigint;
  listCost: bigint;
  priceVersion: string;
  tags: string[];
  webhookUrl: string | null;
  idempotencyKey: string | null;
  fingerprint: string;
  maxDurationSeconds: number;
  actor: string;
  holdFingerprint: string;
}

function openEntry(input: OpenJobInput): OpenEntry {
  const jobId = newId('job');
  return {
    jobId,
    holdId: newId('hold'),
    txnId: newId('txn'),
    tenantId: input.tenantId,
    model: input.model,
    input: jsonSafe(input.input),
    quote: input.quoteMicroCents,
    listCost: input.listCostMicroCents,
    priceVersion: input.priceVersion,
    tags: input.tags,
    webhookUrl: input.webhookUrl ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    fingerprint: input.fingerprint,
    maxDurationSeconds: input.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS,
    actor: input.actor ?? `tenant:${input.tenantId}`,
    holdFingerprint: canonicalJson({ op: 'hold', jobId, amountMicroCents: input.quoteMicroCents }),
  };
}

type Opened = Job | undefined | 'KEY_RACE';

async function tryOpenJob(db: Db, e: OpenEntry): Promise<Opened> {
  try {
    const [row] = await preparedRows<Record<string, unknown>>(
      db,
      sql`SELECT * FROM tollgate_open_job(
        ${e.jobId}, ${e.holdId}, ${e.txnId}, ${e.tenantId}, ${e.model},
        ${JSON.stringify(e.input)}::jsonb, ${e.quote}, ${e.listCost},
        ${e.priceVersion}, ${tagsArray(e.tags)},
        ${e.webhookUrl}, ${e.idempotencyKey}, ${e.fingerprint},
        ${e.maxDurationSeconds}::int, ${e.actor}, ${e.holdFingerprint})`,
    );
    return row ? jobFromRow(row) : undefined;
  } catch (err) {
    if (violates(err, '23505', 'jobs_tenant_idempotency_key_idx')) return 'KEY_RACE';
    throw err;
  }
}

// Group commit (../group.ts): per pool and per step, up to GROUP_IN_FLIGHT statements at once;
// what arrives while they are busy goes next as one statement of at most MAX_GROUP entries.
const GROUP_IN_FLIGHT = 1;
const MAX_GROUP = 100;

/** Group entries as JSON for the `tollgate_*_jobs` functions (bigints as exact decimal strings). */
function groupJson(entries: readonly unknown[]): string {
  return JSON.stringify(entries, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A job step grouped with concurrent ones (migration 0008): `alone` is its single-entry statement,
 * `groupFn` the SQL function that runs a JSON array of such entries in one statement and returns the
 * `jobs` rows it changed. Per pool and step: GROUP_IN_FLIGHT statements at once; what arrives
 * meanwhile goes together, whatever the tenants.
 */
function groupedJobStep<E extends { jobId: string }, Other = never>(
  alone: (db: Db, entry: E) => Promise<Job | Other | undefined>,
  groupFn: 'tollgate_open_jobs' | 'tollgate_capture_jobs' | 'tollgate_complete_jobs',
) {
  return groupStatements<E, Job | Other>({
    maxInFlight: GROUP_IN_FLIGHT,
    maxGroup: MAX_GROUP,
    alone,
    keyOf: (e) => e.jobId,
    rowAnswers: 'first',
    together: (db, entries) =>
      preparedRows<Record<string, unknown>>(
        db,
        sql`SELECT * FROM ${sql.raw(groupFn)}(${groupJson(entries)}::jsonb)`,
      ),
    fromRow: jobFromRow,
  });
}

const openGrouped = groupedJobStep<OpenEntry, 'KEY_RACE'>(tryOpenJob, 'tollgate_open_jobs');

/** A text[] parameter, in order (Drizzle would spread a JS array into a list of parameters). */
function tagsArray(tags: readonly string[]) {
  return sql`ARRAY(SELECT t.tag FROM jsonb_array_elements_text(${JSON.stringify(tags)}::jsonb)
    WITH ORDINALITY AS t(tag, n) ORDER BY t.n)`;
}

async function findByKey(db: Db, tenantId: string, idempotencyKey: string): Promise<Job | undefined> {
  const [job] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.idempotencyKey, idempotencyKey)));
  return job;
}

/** A `jobs` row as Postgres returned it (snake_case, driver values) → the typed Job Drizzle selects give. */
const JOB_COLUMNS = Object.entries(getTableColumns(jobs));

function jobFromRow(row: Record<string, unknown>): Job {
  const job: Record<string, unknown> = {};
  for (const [key, column] of JOB_COLUMNS) {
    const value = row[column.name];
    job[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return job as Job;
}

/** Whether `err` (or an error in its cause chain, as drizzle wraps driver errors) is `code` on `constraint`. */
function violates(err: unknown, code: string, constraint: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const pg = e as Error & { code?: unknown; constraint_name?: unknown };
    if (pg.code === code && pg.constraint_name === constraint) return true;
  }
  return false;
}

async function lockJob(tx: Tx, jobId: string): Promise<Job> {
  const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for('update');
  // Job ids come from openJob: an unknown one is a caller bug, not a business outcome.
  if (!job) throw new Error(`job ${jobId} not found`);
  return job;
}

async function saveJob(tx: Tx, jobId: string, set: PgUpdateSetSource<typeof jobs>): Promise<Job> {
  const [job] = await tx
    .update(jobs)
    .set({ ...set, updatedAt: sql`now()` })
    .where(eq(jobs.id, jobId))
    .returning();
  if (!job) throw new Error(`bug: locked job ${jobId} vanished`);
  return job;
}

/**
 * A job reached a terminal state: free its concurrency slot (exactly once, under the job row lock).
 * Never below zero: if active_jobs drifted below the true count, `- 1` would break the CHECK and the
 * job could never end (every retry fails, the money stays held); reconcile reports the drift
 * (ACTIVE_JOBS_MISMATCH). The same rule in SQL: tollgate_complete_job (migration 0015).
 */
export async function endActiveJob(tx: Tx, tenantId: string): Promise<void> {
  await tx.execute(
    sql`UPDATE tenant_balances SET active_jobs = greatest(active_jobs - 1, 0), updated_at = now() WHERE tenant_id = ${tenantId}`,
  );
}

const jobActor = (job: Job, actor: string | undefined) => actor ?? `system:job:${job.id}`;

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

async function captureAccepted(
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
 */
export async function captureJob(db: Db, input: CaptureJobInput): Promise<{ ok: true; job: Job }> {
  const upstream = {
    upstreamJobId: input.upstreamJobId,
    upstreamCostMicroCents: input.upstreamCostMicroCents,
    estimatedCompletionTime: input.estimatedCompletionTime,
  };
  // The usual case (the job is still `submitting`): one statement, no transaction round trips.
  const captured = await captureGrouped(db, captureEntry(input.jobId, upstream, input.actor));
  if (captured) return { ok: true, job: captured };
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    switch (job.status) {
      case 'submitting':
      case 'unknown': {
        // Not reached in practice (no state goes back to these), kept so every state is handled.
        const again = await captureAccepted(tx, job.id, upstream, input.actor);
        if (!again) throw new Error(`bug: job ${job.id} (${job.status}) not capturable`);
        return { ok: true as const, job: again };
      }
      case 'rejected':
        return {
          ok: true as const,
          job: await saveJob(tx, job.id, {
            needsReview: true,
            ...(await linkUpstreamJobId(tx, job, input.upstreamJobId)),
            upstreamCostMicroCents: job.upstreamCostMicroCents ?? input.upstreamCostMicroCents,
          }),
        };
      case 'pending':
      case 'processing':
      case 'completed':
      case 'failed':
      case 'cancelled':
        if (job.upstreamJobId !== null && job.upstreamJobId !== input.upstreamJobId) {
          return { ok: true as const, job: await saveJob(tx, job.id, { needsReview: true }) };
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
          };
        }
        return { ok: true as const, job };
      default: {
        const never: never = job.status;
        throw new Error(`unhandled job status ${String(never)}`);
      }
    }
  });
}

export interface ReleaseJobInput {
  jobId: string;
  status: 'rejected';
  error: JobError;
  actor?: string;
}

/**
 * Upstream definitively refused (or the request was never sent): release the hold (the tenant is
 * not charged), job → `rejected`. Idempotent; a job already accepted is returned unchanged.
 *
 * A `submitting` job also gives its idempotency key back (moved to `released_idempotency_key` in
 * the same transaction): Pixelbyte created nothing, so a retry with the same key must make a fresh
 * attempt instead of replaying the refusal forever. An `unknown` job keeps its key: upstream may
 * have created the job, and a retry must never create a second one.
 */
export async function releaseJob(db: Db, input: ReleaseJobInput): Promise<{ ok: true; job: Job }> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    if (job.status !== 'submitting' && job.status !== 'unknown') return { ok: true as const, job };
    const released = await releaseInTx(tx, job.holdId, {
      actor: jobActor(job, input.actor),
      reason: `upstream rejected: ${input.error.code}`,
      keepActiveJob: true,
    });
    if (!released.ok) throw new Error(`bug: job ${job.id} hold not releasable: ${released.reason}`);
    await endActiveJob(tx, job.tenantId);
    const releaseKey = job.status === 'submitting' && job.idempotencyKey !== null;
    const saved = await saveJob(tx, job.id, {
      status: input.status,
      error: jsonSafe(input.error),
      completedAt: sql`now()`,
      nextPollAt: null,
      ...(releaseKey ? { idempotencyKey: null, releasedIdempotencyKey: job.idempotencyKey } : {}),
    });
    return { ok: true as const, job: saved };
  });
}

/**
 * Upstream outcome unknown (timeout after sending): job `submitting` → `unknown`, the hold is kept.
 *
 * `upstreamJobId`: the upstream id when we do know it (a garbled 2xx that still named the job, or an
 * accept whose capture could not be stored). It is stored and the job made due for a poll at once:
 * the job exists upstream (the operator pays for it), so the poller must resolve it — capture, then
 * follow it — instead of the hold being released after UNKNOWN_JOB_GRACE for free. An id given for a
 * job already `unknown` without one is stored too (same reason); an existing id is never replaced.
 */
export async function markJobUnknown(
  db: Db,
  input: {
    jobId: string;
    error: JobError;
    upstreamJobId?: string;
    /** What Pixelbyte said it charged, when its answer named the job: kept for the later capture. */
    upstreamCostMicroCents?: bigint;
  },
): Promise<{ ok: true; job: Job }> {
  return db.transaction(async (tx) => {
    const job = await lockJob(tx, input.jobId);
    const learnsId =
      input.upstreamJobId !== undefined &&
      job.upstreamJobId === null &&
      (job.status === 'submitting' || job.status === 'unknown');
    const link = learnsId ? await linkUpstreamJobId(tx, job, input.upstreamJobId) : {};
    // An id another job holds is not stored (kept as collided_upstream_job_id, flagged): nothing to poll.
    const idFields =
      learnsId && 'upstreamJobId' in link
        ? {
            ...link,
            nextPollAt: sql`now()`,
            ...(input.upstreamCostMicroCents === undefined
              ? {}
              : { upstreamCostMicroCents: input.upstreamCostMicroCents }),
          }
        : link;
    if (job.status === 'unknown' && learnsId)
      return { ok: true as const, job: await saveJob(tx, job.id, idFields) };
    if (job.status !== 'submitting') return { ok: true as const, job };
    return {
      ok: true as const,
      job: await saveJob(tx, job.id, { status: 'unknown', error: jsonSafe(input.error), ...idFields }),
    };
  });
}

/**
 * The fields that link `job` to `upstreamJobId`, for a job that has none yet: the id itself when no
 * other job holds it, else (one upstream job named for two of ours) the id kept aside as
 * `collidedUpstreamJobId` and the job flagged needs_review. Serialised per upstream id by
 * `tollgate_upstream_job_id_free` (migration 0014), the check the capture function makes too.
 */
async function linkUpstreamJobId(
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

/**
 * Records that Pixelbyte answered our cancel of a job in progress with `cancelled` (the first such
 * answer wins). No money moves on that answer: the job is refunded only when a read of the job
 * shows it cancelled (or failed); should it complete instead, tollgate_complete_job (migration 0014)
 * and advanceJob flag it needs_review. Returns the job, changed or not.
 */
export async function recordCancelAnswered(db: Db, jobId: string): Promise<Job | undefined> {
  const [job] = await db
    .update(jobs)
    .set({ cancelAnsweredAt: sql`coalesce(${jobs.cancelAnsweredAt}, now())`, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, jobId), inArray(jobs.status, ['pending', 'processing'])))
    .returning();
  return job;
}

/**
 * Flags an `unknown` job that has no upstream id yet as `needs_review` (an authentic webhook proved
 * Pixelbyte holds a job for it, but did not say which). No money moves, and `updated_at` is left as
 * it is so the unknown job's grace period is not restarted. Any other job is left unchanged.
 */
export async function flagUnknownJobForReview(db: Db, jobId: string): Promise<void> {
  await db
    .update(jobs)
    .set({ needsReview: true })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, 'unknown'), isNull(jobs.upstreamJobId)));
}

export interface UpstreamJobState {
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';
  output: string | null;
  outputs: unknown;
  error: JobError | null;
  completedAt: Date | null;
}

export interface AdvanceJobInput {
  jobId: string;
  upstream: UpstreamJobState;
  /** Used when the job is still submitting/unknown (the upstream id learnt from a webhook). */
  upstreamJobId?: string;
  actor?: string;
}

/** The arguments of `tollgate_complete_job` (outputs as JSON-safe data, times as ISO). */
interface CompleteEntry {
  jobId: string;
  output: string | null;
  outputs: unknown;
  completedAt: string | null;
}

function completeEntry(jobId: string, upstream: UpstreamJobState): CompleteEntry {
  return {
    jobId,
    output: upstream.output,
    outputs: upstream.outputs == null ? null : jsonSafe(upstream.outputs),
    completedAt: upstream.completedAt?.toISOString() ?? null,
  };
}

/**
 * `pending`/`processing` → `completed` with the output, concurrency slot freed (`tollgate_complete_job`,
 * migration 0006: one statement). Undefined when the job is in any other state (nothing changed).
 */
async function completeAlone(ex: Executor, e: CompleteEntry): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    ex,
    sql`SELECT * FROM tollgate_complete_job(${e.jobId}, ${e.output},
      ${e.outputs === null ? null : JSON.stringify(e.outputs)}::jsonb, ${e.completedAt}::timestamptz)`,
  );
  return row ? jobFromRow(row) : undefined;
}

/** Completions outside a transaction, grouped with concurrent ones. */
const completeGrouped = groupedJobStep(completeAlone, 'tollgate_complete_jobs');

const RANK: Record<JobStatus, number> = {
  submitting: 0,
  unknown: 0,
  pending: 1,
  processing: 2,
  completed: 3,
  failed: 3,
  cancelled: 3,
  rejected: 3,
};

/**
 * Moves a job forward to what upstream reports; never backwards, idempotent. A job still
 * submitting/unknown is captured first (it exists upstream). `failed` / `cancelled` refund the
 * charge once (job.refundedMicroCents). A job already terminal is returned unchanged. `captured`
 * says whether this call captured the hold (a caller's snapshot of the job may be stale: another
 * path may have captured it meanwhile).
 */
export async function advanceJob(
  db: Db,
  input: AdvanceJobInput,
): Promise<{ ok: true; job: Job; changed: boolean; captured: boolean }> {
  // The usual case (a `pending`/`processing` job completed upstream): one statement.
  if (input.upstream.status === 'completed') {
    const completed = await completeGrouped(db, completeEntry(input.jobId, input.upstream));
    if (completed) return { ok: true, job: completed, changed: true, captured: false };
  }
  return db.transaction(async (tx) => {
    let job = await lockJob(tx, input.jobId);
    if (isTerminal(job.status)) return { ok: true as const, job, changed: false, captured: false };
    let captured = false;
    if (job.status === 'submitting' || job.status === 'unknown') {
      const capturedJob = await captureAccepted(
        tx,
        job.id,
        {
          upstreamJobId: input.upstreamJobId ?? job.upstreamJobId,
          // Known when the submit's answer was stored with the id (markJobUnknown); else null.
          upstreamCostMicroCents: job.upstreamCostMicroCents,
          estimatedCompletionTime: job.estimatedCompletionTime,
        },
        input.actor,
      );
      if (!capturedJob) throw new Error(`bug: locked job ${job.id} (${job.status}) not capturable`);
      // The upstream id is another job's (one upstream job, two of ours): not captured, left
      // `unknown` and flagged by the capture; its outcome is resolved like any unknown one.
      if (capturedJob.status === 'unknown')
        return { ok: true as const, job: capturedJob, changed: true, captured: false };
      job = capturedJob;
      captured = true;
    }
    const target = input.upstream.status;
    // Nothing more to move: changed only if the capture above did something.
    if (RANK[target] <= RANK[job.status]) return { ok: true as const, job, changed: captured, captured };

    switch (target) {
      case 'pending':
      case 'processing':
        job = await saveJob(tx, job.id, { status: target });
        break;
      case 'completed': {
        const completed = await completeAlone(tx, completeEntry(job.id, input.upstream));
        if (!completed) throw new Error(`bug: locked job ${job.id} (${job.status}) not completable`);
        job = completed;
        break;
      }
      case 'failed':
      case 'cancelled': {
        const refunded = await refundInTx(tx, job.holdId, {
          actor: jobActor(job, input.actor),
          reason: `upstream ${target}`,
        });
        if (!refunded.ok) throw new Error(`bug: job ${job.id} charge not refundable: ${refunded.reason}`);
        await endActiveJob(tx, job.tenantId);
        job = await saveJob(tx, job.id, {
          status: target,
          // Pixelbyte answered our cancel `cancelled`, and the job failed instead: the refund follows
          // the failure (Pixelbyte refunds failed jobs), the disagreement goes to finance.
          needsReview: job.needsReview || (target !== 'cancelled' && job.cancelAnsweredAt !== null),
          refundedMicroCents: refunded.refundedMicroCents,
          error: input.upstream.error ? jsonSafe(input.upstream.error) : null,
          completedAt: input.upstream.completedAt ?? sql`now()`,
          nextPollAt: null,
        });
        break;
      }
      default: {
        const never: never = target;
        throw new Error(`unhandled upstream status ${String(never)}`);
      }
    }
    return { ok: true as const, job, changed: true, captured };
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
      keepActiveJob: true,
    });
    if (!released.ok)
      throw new Error(`bug: unknown job ${job.job.id} hold not releasable: ${released.reason}`);
    await endActiveJob(tx, job.job.tenantId);
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

/** How long a claimed overdue job is left to its claimer before another instance may take it. */
const OVERDUE_CLAIM_SECONDS = 60;

/**
 * Claims up to `limit` `pending`/`processing` jobs past their deadline (DB clock), skipping rows
 * another instance holds (FOR UPDATE SKIP LOCKED), and pushes their next_poll_at out so that neither
 * the poller nor another resolver takes them while the claimer reads upstream (outside any
 * transaction) and then calls advanceJob or expireOverdueJob. Only jobs due for a poll are taken (a
 * job a poller claimed before its deadline is left to it), so enforcement may lag by one poll backoff
 * (≤ 5 min) plus one resolver interval; the poller no longer claims overdue jobs (claimJobsToPoll).
 */
export async function claimOverdueJobs(db: Db, input: { limit: number }): Promise<Job[]> {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, ['pending', 'processing']),
        sql`${jobs.deadlineAt} < now()`,
        sql`(${jobs.nextPollAt} IS NULL OR ${jobs.nextPollAt} <= now())`,
      ),
    )
    .orderBy(jobs.deadlineAt)
    .limit(Math.max(1, input.limit))
    .for('update', { skipLocked: true });
  return db
    .update(jobs)
    .set({ nextPollAt: sql`now() + make_interval(secs => ${OVERDUE_CLAIM_SECONDS})` })
    .where(inArray(jobs.id, due))
    .returning();
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
    await endActiveJob(tx, job.tenantId);
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

/**
 * Claims up to `limit` non-terminal jobs with an upstream id that are due for a poll
 * (next_poll_at ≤ now()), skipping rows another instance holds (FOR UPDATE SKIP LOCKED), and
 * pushes their next_poll_at out with exponential backoff (5 s, 10 s, … capped at 5 min), so several
 * gateway instances never poll the same job at the same time. A `pending`/`processing` job past its
 * deadline is left to claimOverdueJobs: the poller claims every 2 s what is due and would push it out
 * again before the resolver's pass (every minute) saw it due, keeping it overdue for hours.
 */
export async function claimJobsToPoll(
  db: Db,
  input: { limit: number; minAgeSeconds?: number },
): Promise<Job[]> {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, [...IN_FLIGHT_JOB_STATUSES]),
        sql`${jobs.upstreamJobId} IS NOT NULL`,
        sql`${jobs.nextPollAt} <= now()`,
        sql`NOT (${jobs.status} IN ('pending', 'processing') AND ${jobs.deadlineAt} < now())`,
        sql`${jobs.createdAt} <= now() - make_interval(secs => ${input.minAgeSeconds ?? 0})`,
      ),
    )
    .orderBy(jobs.nextPollAt)
    .limit(Math.max(1, input.limit))
    .for('update', { skipLocked: true });
  return db
    .update(jobs)
    .set({
      pollAttempts: sql`${jobs.pollAttempts} + 1`,
      nextPollAt: sql`now() + make_interval(secs => least(300, 5 * power(2, least(${jobs.pollAttempts}, 10))))`,
    })
    .where(inArray(jobs.id, due))
    .returning();
}

/**
 * A job by id; with `tenantId`, only that tenant's (another tenant's job is "not found"). A prepared
 * statement: `jobs.get` is what tenants call most, and Drizzle's query builder cost more gateway CPU
 * than the read itself.
 */
export async function getJob(db: Db, input: { tenantId?: string; jobId: string }): Promise<Job | undefined> {
  const [row] = await preparedRows<Record<string, unknown>>(
    db,
    input.tenantId === undefined
      ? sql`SELECT * FROM jobs WHERE id = ${input.jobId}`
      : sql`SELECT * FROM jobs WHERE id = ${input.jobId} AND tenant_id = ${input.tenantId}`,
  );
  return row === undefined ? undefined : jobFromRow(row);
}

/**
 * Seconds (DB clock) until the first of a tenant's jobs in progress is expected to end, from the
 * upstream's `estimatedCompletionTime`: ≤ 0 when one is already late, null when none of them has an
 * estimate (or none is in progress). The hint a CONCURRENT_JOBS_LIMIT refusal gives for a retry.
 */
export async function secondsUntilFirstJobEnds(db: Db, tenantId: string): Promise<number | null> {
  const [row] = await preparedRows<{ seconds: number | null }>(
    db,
    sql`SELECT extract(epoch FROM min(estimated_completion_time) - now())::float8 AS seconds
          FROM jobs
         WHERE tenant_id = ${tenantId} AND status IN (${IN_FLIGHT_JOB_STATUS_LIST})`,
  );
  return row?.seconds ?? null;
}

export interface ListJobsInput {
  /** Omitted = all tenants (admin). */
  tenantId?: string;
  status?: JobStatus;
  model?: string;
  cursor?: string;
  limit: number;
}

/** Jobs newest first; `nextCursor` is opaque over (created_at, id). An unreadable cursor gives an empty page. */
export async function listJobs(
  db: Db,
  input: ListJobsInput,
): Promise<{ items: Job[]; nextCursor: string | null }> {
  const limit = Math.max(1, Math.min(input.limit, 500));
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  if (input.cursor !== undefined && !cursor) return { items: [], nextCursor: null };
  const page = await db
    .select({ job: jobs, ts: cursorTime(jobs.createdAt) })
    .from(jobs)
    .where(
      and(
        input.tenantId === undefined ? undefined : eq(jobs.tenantId, input.tenantId),
        input.status === undefined ? undefined : eq(jobs.status, input.status),
        input.model === undefined ? undefined : eq(jobs.model, input.model),
        cursor
          ? sql`(${jobs.createdAt}, ${jobs.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id})`
          : undefined,
      ),
    )
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(limit + 1);
  const items = page.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => r.job),
    nextCursor: page.length > limit && last ? encodeCursor(last.ts, last.job.id) : null,
  };
}

export interface LedgerEntry {
  lineId: bigint;
  transactionId: string;
  kind: LedgerKind;
  account: LedgerAccount;
  tenantId: string | null;
  jobId: string | null;
  holdId: string | null;
  /** Signed: + credits the account, − debits it. */
  amountMicroCents: bigint;
  /** The account's balance right after this line (tenant accounts only). */
  balanceAfterMicroCents: bigint | null;
  reference: string | null;
  reason: string | null;
  actor: string;
  createdAt: Date;
}

export interface ListLedgerInput {
  /** Omitted = every line, platform accounts included (finance). */
  tenantId?: string;
  /** Only the lines of transactions in this book (test mode); omitted = both. */
  mode?: Mode;
  /** Inclusive lower bound on created_at. */
  from?: Date;
  /** Exclusive upper bound on created_at. */
  to?: Date;
  cursor?: string;
  limit: number;
}

/** Ledger lines newest first (a tenant's statement, or all lines), cursor-paginated. */
export async function listLedger(
  db: Db,
  input: ListLedgerInput,
): Promise<{ items: LedgerEntry[]; nextCursor: string | null }> {
  const limit = Math.max(1, Math.min(input.limit, 1_000));
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  if (input.cursor !== undefined && !cursor) return { items: [], nextCursor: null };
  // Line ids are bigint: digits within its range (a larger number would fail the query).
  if (cursor && !(/^\d{1,19}$/.test(cursor.id) && BigInt(cursor.id) <= PG_BIGINT_MAX))
    return { items: [], nextCursor: null };
  const page = await db
    .select({
      lineId: ledgerLines.id,
      transactionId: ledgerLines.transactionId,
      kind: ledgerTransactions.kind,
      account: ledgerLines.account,
      tenantId: ledgerLines.tenantId,
      jobId: ledgerTransactions.jobId,
      holdId: ledgerTransactions.holdId,
      amountMicroCents: ledgerLines.amountMicroCents,
      balanceAfterMicroCents: ledgerLines.balanceAfterMicroCents,
      reference: ledgerTransactions.reference,
      reason: ledgerTransactions.reason,
      actor: ledgerTransactions.actor,
      createdAt: ledgerLines.createdAt,
      ts: cursorTime(ledgerLines.createdAt),
    })
    .from(ledgerLines)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerLines.transactionId))
    .where(
      and(
        input.tenantId === undefined ? undefined : eq(ledgerLines.tenantId, input.tenantId),
        input.mode === undefined ? undefined : sql`${inBook(ledgerTransactions.tenantId, input.mode)}`,
        input.from === undefined
          ? undefined
          : sql`${ledgerLines.createdAt} >= ${input.from.toISOString()}::timestamptz`,
        input.to === undefined
          ? undefined
          : sql`${ledgerLines.createdAt} < ${input.to.toISOString()}::timestamptz`,
        cursor
          ? sql`(${ledgerLines.createdAt}, ${ledgerLines.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id}::bigint)`
          : undefined,
      ),
    )
    .orderBy(desc(ledgerLines.createdAt), desc(ledgerLines.id))
    .limit(limit + 1);
  const items = page.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(({ ts: _ts, ...entry }) => entry),
    nextCursor: page.length > limit && last ? encodeCursor(last.ts, last.lineId.toString()) : null,
  };
}
