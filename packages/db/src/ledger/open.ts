// Open: a job and its hold (money + limits) in one statement (`tollgate_open_job`), grouped with
// concurrent opens; on refusal, which check refused or what the idempotency key already names.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { type Job, jobs } from '../schema';
import { groupedJobStep } from './group-commit';
import { type Executor, inTransaction, jsonSafe, preparedRows } from './internal';
import { DEFAULT_MAX_DURATION_SECONDS, jobFromRow } from './job-row';
import { type HoldRefusal, holdRefusal } from './limits';

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
 * Opens a job: the hold (money + limits, `tollgate_reserve`), the job row (`submitting`), the hold row
 * and its ledger transaction, all in ONE statement (`tollgate_open_job`): one round trip, the
 * tenant's balance row locked only for that statement, grouped with concurrent opens. A refusal
 * changes nothing, so a refused key stays free. When the statement returns no job, `openLocked`
 * decides under the tenant's balance row lock: the idempotency key already names a job (replay /
 * conflict / in flight), or which check refuses (`holdRefusal`, the rules the reserve applies),
 * or, when none does any more, the open is made there.
 */
export async function openJob(db: Db, input: OpenJobInput): Promise<OpenJobResult> {
  if (typeof input.quoteMicroCents !== 'bigint' || input.quoteMicroCents <= 0n) {
    throw new Error(
      `openJob: quoteMicroCents must be a positive bigint, got ${String(input.quoteMicroCents)}`,
    );
  }
  const opened = await openGrouped(db, openEntry(input));
  if (opened !== undefined && opened !== 'KEY_RACE') return { ok: true, job: opened, replayed: false };
  if (opened === undefined) {
    // Refused, or the key names a job: read which (a refusal read now is one the open would get now).
    const replay = keyAnswer(await findByKey(db, input.tenantId, input.idempotencyKey), input);
    if (replay) return replay;
    const refusal = await holdRefusal(db, input.tenantId, input.quoteMicroCents, { lock: false });
    if (refusal) return refusal;
    // No check refuses any more (a slot or the minute freed up meanwhile): open under the lock.
  }
  // KEY_RACE: a concurrent request with the same key inserted its job first and committed; the
  // next pass reads that job, unless its key was given back meanwhile (a refused submit): then the
  // open is tried afresh. The passes are for that race only.
  for (let pass = 0; pass < 5; pass++) {
    const result = await openLocked(db, input);
    if (result !== 'KEY_RACE') return result;
  }
  throw new Error(`openJob for ${input.tenantId}: the idempotency key kept changing hands`);
}

/** What the idempotency key already names, if anything. */
function keyAnswer(existing: Job | undefined, input: OpenJobInput): OpenJobResult | undefined {
  if (!existing) return undefined;
  if (existing.fingerprint !== input.fingerprint) return { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
  if (existing.status === 'submitting') return { ok: false, reason: 'IDEMPOTENCY_IN_FLIGHT' };
  return { ok: true, job: existing, replayed: true };
}

/**
 * The slow path of an open, in one transaction: the key's job if it has one, else the hold's checks
 * on the LOCKED balance row (a refusal is final), else the open itself under that lock (the reserve
 * cannot be refused by a balance change; a tenant change committed in between is read again).
 */
async function openLocked(db: Db, input: OpenJobInput): Promise<OpenJobResult | 'KEY_RACE'> {
  return inTransaction<OpenJobResult | 'KEY_RACE'>(db, async (tx, refuse) => {
    const byKey = async () => keyAnswer(await findByKey(tx, input.tenantId, input.idempotencyKey), input);
    const replay = await byKey();
    if (replay) return replay;
    const refusal = await holdRefusal(tx, input.tenantId, input.quoteMicroCents, { lock: true });
    if (refusal) return refusal;
    const opened = await tryOpenJob(tx, openEntry(input));
    // The unique violation aborted the transaction: roll it back, the caller reads the key again.
    if (opened === 'KEY_RACE') return refuse('KEY_RACE');
    if (opened) return { ok: true, job: opened, replayed: false };
    const now =
      (await byKey()) ?? (await holdRefusal(tx, input.tenantId, input.quoteMicroCents, { lock: true }));
    if (now) return now;
    throw new Error(`bug: tollgate_open_job refused ${input.tenantId} where tollgate_hold_refusal allows it`);
  });
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
}

function openEntry(input: OpenJobInput): OpenEntry {
  return {
    jobId: newId('job'),
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
  };
}

type Opened = Job | undefined | 'KEY_RACE';

async function tryOpenJob(ex: Executor, e: OpenEntry): Promise<Opened> {
  try {
    const [row] = await preparedRows<Record<string, unknown>>(
      ex,
      sql`SELECT * FROM tollgate_open_job(
        ${e.jobId}, ${e.holdId}, ${e.txnId}, ${e.tenantId}, ${e.model},
        ${JSON.stringify(e.input)}::jsonb, ${e.quote}, ${e.listCost},
        ${e.priceVersion}, ${tagsArray(e.tags)},
        ${e.webhookUrl}, ${e.idempotencyKey}, ${e.fingerprint},
        ${e.maxDurationSeconds}::int, ${e.actor})`,
    );
    return row ? jobFromRow(row) : undefined;
  } catch (err) {
    if (violates(err, '23505', 'jobs_tenant_idempotency_key_idx')) return 'KEY_RACE';
    throw err;
  }
}

const openGrouped = groupedJobStep<OpenEntry, 'KEY_RACE'>(tryOpenJob, 'tollgate_open_jobs');

/** A text[] parameter, in order (Drizzle would spread a JS array into a list of parameters). */
function tagsArray(tags: readonly string[]) {
  return sql`ARRAY(SELECT t.tag FROM jsonb_array_elements_text(${JSON.stringify(tags)}::jsonb)
    WITH ORDINALITY AS t(tag, n) ORDER BY t.n)`;
}

async function findByKey(
  ex: Executor,
  tenantId: string,
  idempotencyKey: string | undefined,
): Promise<Job | undefined> {
  if (idempotencyKey === undefined) return undefined;
  const [job] = await ex
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.idempotencyKey, idempotencyKey)));
  return job;
}

/** Whether `err` (or an error in its cause chain, as drizzle wraps driver errors) is `code` on `constraint`. */
function violates(err: unknown, code: string, constraint: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const pg = e as Error & { code?: unknown; constraint_name?: unknown };
    if (pg.code === code && pg.constraint_name === constraint) return true;
  }
  return false;
}
