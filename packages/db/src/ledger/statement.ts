// The statement: ledger lines newest first, a tenant's or all of them (finance).
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { inBook, type Mode } from '../sandbox';
import { type LedgerAccount, type LedgerKind, ledgerLines, ledgerTransactions } from '../schema';
import { cursorTime, decodeCursor, encodeCursor, PG_BIGINT_MAX } from './internal';

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
