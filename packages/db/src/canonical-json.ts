// Canonical JSON: the one builder of the request fingerprints tollgate stores (a job's request in
// the gateway, a credit's in the ledger) and of storable jsonb. Hold movements' ledger fingerprints
// are built in SQL (`tollgate_fingerprint`) in the same format.

/**
 * JSON with object keys sorted (at every depth) and bigints as decimal strings: equal arguments give
 * equal text. Undefined properties are dropped, as JSON.stringify does; a Date is its ISO string.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
