import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_BYTES = 20;

// Random bytes are drawn 4 KiB at a time (one getrandom call per ~200 ids instead of one per id:
// every job takes three ids on the submit path).
const pool = Buffer.alloc(4096);
let offset = pool.length;

/**
 * Prefixed random id (`ten_…`, `job_…`, `txn_…`, `hold_…`): 20 chars of [0-9a-z] ≈ 103 bits,
 * url-safe and unguessable, so ids can appear in URLs without leaking counts or order.
 */
export function newId(prefix: 'ten' | 'job' | 'txn' | 'hold' | 'prc' | 'key' | 'opk'): string {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let out = '';
  for (let i = offset; i < offset + ID_BYTES; i++) out += ALPHABET[(pool[i] as number) % 36];
  offset += ID_BYTES;
  return `${prefix}_${out}`;
}
