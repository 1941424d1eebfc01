import { DomainError } from '../../errors.ts';

/** Opaque cursor over (timestamp, id) for the admin lists, newest first. */
export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

/** Decodes an admin list cursor; an unreadable one is the caller's mistake (BAD_REQUEST INVALID_CURSOR). */
export function decodeCursor(cursor: string | undefined): { ts: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      !Number.isNaN(Date.parse(v[0]))
    )
      return { ts: v[0], id: v[1] };
  } catch {
    // unreadable cursor: reported below
  }
  throw new DomainError({ code: 'BAD_REQUEST', reason: 'INVALID_CURSOR', message: 'cursor is not valid' });
}
