import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Prefixed random id (`ten_…`, `job_…`, `txn_…`, `hold_…`): 20 chars of [0-9a-z] ≈ 103 bits,
 * url-safe and unguessable, so ids can appear in URLs without leaking counts or order.
 */
export function newId(prefix: 'ten' | 'job' | 'txn' | 'hold' | 'prc'): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 36];
  return `${prefix}_${out}`;
}
