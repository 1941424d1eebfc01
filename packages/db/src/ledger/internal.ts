// Helpers shared by the ledger modules. Not exported from the package.
import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { canonicalJson } from '../canonical-json';
import { type Db, queryPrepared } from '../client';
import { auditLog, type LedgerAccount, type LedgerKind } from '../schema';

export { canonicalJson };

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

/** Largest value a Postgres bigint can hold. */
export const PG_BIGINT_MAX = 9_223_372_036_854_775_807n;

/** Largest stored amount or balance (a bigint column). */
export const MAX_MICRO_CENTS = PG_BIGINT_MAX;

/** Thrown inside a transaction to roll it back and hand `value` to the caller as the result. */
class Refusal extends Error {
  constructor(readonly value: unknown) {
    super('ledger refusal (rolled back)');
  }
}

/**
 * Runs `fn` in one DB transaction. `refuse(value)` inside rolls everything back and makes `value`
 * the result, so a business refusal can never leave partial writes behind.
 */
export async function inTransaction<T>(
  db: Db,
  fn: (tx: Tx, refuse: (value: T) => never) => Promise<T>,
): Promise<T> {
  const refuse = (value: T): never => {
    throw new Refusal(value);
  };
  try {
    return await db.transaction((tx) => fn(tx, refuse));
  } catch (err) {
    if (err instanceof Refusal) return err.value as T;
    throw err;
  }
}

/** Raw query returning typed rows (snake_case columns as Postgres returns them). */
export async function rows<T>(ex: Executor, query: SQL): Promise<T[]> {
  return (await ex.execute(query)) as unknown as T[];
}

/**
 * `rows`, as a prepared statement when `ex` is the pool (`queryPrepared`); inside a transaction it
 * goes through Drizzle as usual. For the statements every job runs (the job functions of migration 0006).
 */
export async function preparedRows<T>(ex: Executor, query: SQL): Promise<T[]> {
  return '$client' in ex ? queryPrepared<T>(ex, query) : rows<T>(ex, query);
}

/**
 * Serialises concurrent operations that share an idempotency key (until commit), so the second
 * one sees the first one's committed result and replays it instead of racing it.
 */
export async function lockKey(tx: Tx, key: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

/** The ops whose ledger fingerprint `tollgate_fingerprint` builds (packages/db/sql/functions). */
export type FingerprintOp = 'hold' | 'bare_hold' | 'capture' | 'release' | 'refund';

/**
 * SQL: the request fingerprint of a hold movement, built by `tollgate_fingerprint` (the one place,
 * shared with the SQL money functions). Embed it in a statement (`postTransaction` takes it as is).
 */
export function fingerprint(op: FingerprintOp, subject: string, amount: bigint | null = null): SQL {
  return sql`tollgate_fingerprint(${op}, ${subject}, ${amount}::bigint)`;
}

/** The fingerprint `tollgate_fingerprint` gives, read (to compare with a stored one on a replay). */
export async function fingerprintOf(
  ex: Executor,
  op: FingerprintOp,
  subject: string,
  amount: bigint | null = null,
): Promise<string> {
  const [row] = await rows<{ fp: string }>(ex, sql`SELECT ${fingerprint(op, subject, amount)} AS fp`);
  if (!row) throw new Error('bug: tollgate_fingerprint returned no row');
  return row.fp;
}

/** Makes a value storable in jsonb (bigint → decimal string, Date → ISO string). */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(canonicalJson(value) ?? 'null');
}

export function isAmount(v: unknown): v is bigint {
  return typeof v === 'bigint';
}

/** A strictly positive amount that fits a Postgres bigint. */
export function isPositiveAmount(v: unknown): v is bigint {
  return typeof v === 'bigint' && v > 0n && v <= MAX_MICRO_CENTS;
}

export interface LinePosting {
  account: LedgerAccount;
  tenantId: string | null;
  amountMicroCents: bigint;
  balanceAfterMicroCents: bigint | null;
}

export interface NewTransaction {
  id: string;
  kind: LedgerKind;
  tenantId: string;
  holdId?: string | null;
  jobId?: string | null;
  idempotencyKey: string;
  /** The caller's fingerprint, or `fingerprint(…)` (SQL, evaluated in the INSERT). */
  requestFingerprint: string | SQL;
  reference?: string | null;
  reason?: string | null;
  actor: string;
}

/**
 * Inserts one ledger transaction and its lines in ONE statement (a data-modifying CTE): one round
 * trip instead of two while the caller holds the tenant's balance row lock. `before`, when given,
 * is another INSERT run in the same statement ahead of the transaction (the hold row of a hold).
 * Zero-amount lines are skipped (a line records a movement); the deferred trigger still checks at
 * commit that the rest sums to zero, and foreign keys are checked at the end of the statement.
 */
export async function postTransaction(
  tx: Tx,
  txn: NewTransaction,
  lines: LinePosting[],
  before?: SQL,
): Promise<void> {
  const nonZero = lines.filter((l) => l.amountMicroCents !== 0n);
  if (nonZero.length === 0) throw new Error(`bug: ledger transaction ${txn.id} has no non-zero line`);
  const sum = nonZero.reduce((acc, l) => acc + l.amountMicroCents, 0n);
  if (sum !== 0n) throw new Error(`bug: ledger transaction ${txn.id} lines sum to ${sum}`);
  const values = sql.join(
    nonZero.map(
      (l) =>
        sql`(${txn.id}, ${l.account}, ${l.tenantId}, ${l.amountMicroCents}, ${l.balanceAfterMicroCents})`,
    ),
    sql`, `,
  );
  await tx.execute(sql`
    WITH ${before ? sql`pre AS (${before}), ` : sql``}txn AS (
      INSERT INTO ledger_transactions
        (id, kind, tenant_id, hold_id, job_id, idempotency_key, request_fingerprint, reference, reason, actor)
      VALUES (${txn.id}, ${txn.kind}, ${txn.tenantId}, ${txn.holdId ?? null}, ${txn.jobId ?? null},
        ${txn.idempotencyKey}, ${txn.requestFingerprint}, ${txn.reference ?? null}, ${txn.reason ?? null},
        ${txn.actor})
    )
    INSERT INTO ledger_lines (transaction_id, account, tenant_id, amount_micro_cents, balance_after_micro_cents)
    VALUES ${values}`);
}

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  requestId?: string | undefined;
}

export async function writeAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    actor: entry.actor,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    before: entry.before === undefined ? null : jsonSafe(entry.before),
    after: entry.after === undefined ? null : jsonSafe(entry.after),
    requestId: entry.requestId ?? null,
  });
}

/**
 * SQL: a timestamp column as the UTC text a cursor carries (microseconds, `Z`), what decodeCursor
 * accepts. Selected beside a page's rows so the last one's cursor is exact to the microsecond.
 */
export const cursorTime = (column: SQLWrapper) =>
  sql<string>`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Opaque cursor over (created_at, id), newest first. */
export function encodeCursor(createdAt: Date | string, id: string): string {
  const iso = createdAt instanceof Date ? createdAt.toISOString() : createdAt;
  return Buffer.from(JSON.stringify([iso, id])).toString('base64url');
}

/**
 * What encodeCursor writes, and nothing else: a UTC ISO time (years 0001–9999, microseconds at most)
 * and an id of word characters. A crafted cursor that `Date.parse` accepts but Postgres does not
 * ("1", "0000-01-01"), or an id with odd characters, would otherwise fail the query.
 */
const CURSOR_TIME = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const CURSOR_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * A real UTC time of years 0001–9999: `Date.parse` rolls 2020-02-30 over into March where Postgres
 * refuses it, so the date and time must survive the round trip through Date unchanged.
 */
function isCalendarTime(s: string): boolean {
  const t = Date.parse(s);
  return (
    !Number.isNaN(t) && !s.startsWith('0000') && new Date(t).toISOString().slice(0, 19) === s.slice(0, 19)
  );
}

/** The (created_at, id) a cursor carries, or undefined when it is not one encodeCursor made. */
export function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      CURSOR_TIME.test(parsed[0]) &&
      isCalendarTime(parsed[0]) &&
      CURSOR_ID.test(parsed[1])
    ) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through: a malformed cursor is reported as such by the caller
  }
  return undefined;
}
