import { createHash, randomBytes } from 'node:crypto';

/**
 * Our own credentials (product.md "Credentials"): tenant API keys `tg_live_…` / `tg_test_…` and
 * operator keys `tg_op_…`, each the prefix + 40 random base62 characters (≈ 238 bits). They start
 * with `tg_`, which no JWT does (a JWT starts with its base64url header, `eyJ`), so the prefix alone
 * tells a key from a JWT. Only the SHA-256 of the whole key is stored.
 */
export type KeyKind = 'live' | 'test' | 'operator';

export const KEY_PREFIXES = { live: 'tg_live_', test: 'tg_test_', operator: 'tg_op_' } as const;

/** Random characters after the prefix (product.md: at least 32). */
const KEY_BODY_LENGTH = 40;
/** Characters of a key shown in lists (product.md: the first 12), e.g. `tg_live_AbCd`. */
export const KEY_PREFIX_LENGTH = 12;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Every key this gateway issues has this shape; anything else starting with `tg_` is refused unread. */
const KEY_FORMAT = /^tg_(?:live|test|op)_[0-9A-Za-z]{32,128}$/;

/** Does this bearer token claim to be one of our keys (rather than a JWT)? */
export function isKeyToken(token: string): boolean {
  return token.startsWith('tg_');
}

/** The kind a well-formed key claims by its prefix; null for anything not shaped like our keys. */
export function keyKindOf(token: string): KeyKind | null {
  if (!KEY_FORMAT.test(token)) return null;
  if (token.startsWith(KEY_PREFIXES.live)) return 'live';
  if (token.startsWith(KEY_PREFIXES.test)) return 'test';
  return 'operator';
}

/** SHA-256 of the whole key, lower-case hex: what the database stores and is searched by. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: the secret (shown once), the prefix kept for lists, and the hash kept for lookups. */
export function generateKey(kind: KeyKind): { key: string; prefix: string; hash: string } {
  let body = '';
  // Rejection sampling: only bytes below 248 (= 4 × 62) are used, so every character is equally likely.
  while (body.length < KEY_BODY_LENGTH) {
    for (const byte of randomBytes(64)) {
      if (byte < 248 && body.length < KEY_BODY_LENGTH) body += BASE62[byte % 62];
    }
  }
  const key = `${KEY_PREFIXES[kind]}${body}`;
  return { key, prefix: key.slice(0, KEY_PREFIX_LENGTH), hash: hashKey(key) };
}
