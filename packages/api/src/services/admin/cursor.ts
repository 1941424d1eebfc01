import { cursorTime, decodeCursor as decodeLedgerCursor, encodeCursor } from '@tollgate/db/ledger';
import { DomainError } from '../../errors.ts';

/** Opaque cursor over (timestamp, id) for the admin lists, newest first: the ledger lists' format. */
export { cursorTime };

/** Decodes an admin list cursor; an unreadable one is the caller's mistake (BAD_REQUEST INVALID_CURSOR). */
export function decodeCursor(cursor: string | undefined): { ts: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const decoded = decodeLedgerCursor(cursor);
  if (decoded === undefined) {
    throw new DomainError({ reason: 'INVALID_CURSOR' });
  }
  return { ts: decoded.createdAt, id: decoded.id };
}

/**
 * One page of an admin list read with `LIMIT limit + 1`: the first `limit` rows, and the cursor of
 * the last of them when the extra row shows there is more (`keyOf`: its `cursorTime` and id).
 */
export function pageOf<R>(
  rows: R[],
  limit: number,
  keyOf: (row: R) => { ts: string; id: string },
): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  if (rows.length <= limit || last === undefined) return { page, nextCursor: null };
  const key = keyOf(last);
  return { page, nextCursor: encodeCursor(key.ts, key.id) };
}
