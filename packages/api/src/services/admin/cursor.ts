import { decodeCursor as decodeLedgerCursor, encodeCursor } from '@tollgate/db/ledger';
import { DomainError } from '../../errors.ts';

/** Opaque cursor over (timestamp, id) for the admin lists, newest first: the ledger lists' format. */
export { encodeCursor };

/** Decodes an admin list cursor; an unreadable one is the caller's mistake (BAD_REQUEST INVALID_CURSOR). */
export function decodeCursor(cursor: string | undefined): { ts: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const decoded = decodeLedgerCursor(cursor);
  if (decoded === undefined) {
    throw new DomainError({ code: 'BAD_REQUEST', reason: 'INVALID_CURSOR', message: 'cursor is not valid' });
  }
  return { ts: decoded.createdAt, id: decoded.id };
}
