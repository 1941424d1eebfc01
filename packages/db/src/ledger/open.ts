// Open: a job and its hold (money + limits) in one statement (`tollgate_open_job`), grouped with
// concurrent opens; on refusal, which check refused or what the idempotency key already names.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { newId } from '../ids';
import { type Job, jobs } from '../schema';
import { groupedJobStep } from './group-commit';
import { canonicalJson, jsonSafe, preparedRows } from './internal';
import { DEFAULT_MAX_DURATION_SECONDS, jobFromRow } from './job-row';
import { diagnose, type HoldRefusal } from './limits';

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

/** Whether `err` (or an error in its cause chain, as drizzle wraps driver errors) is `code` on `constraint`. */
function violates(err: unknown, code: string, constraint: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const pg = e as Error & { code?: unknown; constraint_name?: unknown };
    if (pg.code === code && pg.constraint_name === constraint) return true;
  }
  return false;
}
