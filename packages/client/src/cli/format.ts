import { formatUsd } from '@tollgate/pricing/money';

/** "$12.50" from micro-cents (exact; amounts on the wire are safe integers or digit strings). */
export function usd(microCents: number | string | bigint): string {
  const n = typeof microCents === 'bigint' ? microCents : BigInt(microCents);
  return n < 0n ? `-$${formatUsd(-n)}` : `$${formatUsd(n)}`;
}

function isAmountKey(key: string): boolean {
  return /MicroCents$/.test(key);
}

/** One cell for people: amounts as USD, null as "-", objects as compact JSON. */
export function cell(key: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (isAmountKey(key) && (typeof value === 'number' || typeof value === 'bigint')) return usd(value);
  if (isAmountKey(key) && typeof value === 'string' && /^-?\d+$/.test(value)) return usd(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value) && value.length === 0) return '-';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  return JSON.stringify(value, jsonReplacer);
}

/** Column header: `availableMicroCents` → `AVAILABLE (USD)`, `tenantId` → `TENANT ID`. */
export function header(key: string): string {
  const base = isAmountKey(key) ? `${key.replace(/MicroCents$/, '')} (USD)` : key;
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toUpperCase();
}

/**
 * For people, one amount per field: the gateway sends totals as `xMicroCents` (a number, null past
 * 2^53 − 1) and `xMicroCentsExact` (always the exact string). The exact string stands in for a null
 * number; otherwise it is the same amount and is left out (`--json` keeps both).
 */
export function foldExact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k.endsWith('MicroCentsExact')) {
      const base = k.slice(0, -'Exact'.length);
      if (base in obj && (obj[base] === null || obj[base] === undefined)) out[base] = v;
      else if (!(base in obj)) out[k] = v;
      continue;
    }
    if (!(k in out)) out[k] = v;
  }
  return out;
}

/** A plain, aligned text table (no colours: it must survive pipes and logs); rows are the API's objects as they come. */
export function table(unfolded: readonly object[], columns: readonly string[]): string {
  const rows = unfolded.map((r) => foldExact(r as Record<string, unknown>));
  if (rows.length === 0) return '(none)\n';
  const head = columns.map(header);
  const body = rows.map((r) => columns.map((c) => cell(c, r[c])));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...body.map(line)].join('\n')}\n`;
}

/** A single object as `KEY  value` lines. Nested objects are flattened one level (limits.x). */
export function keyValues(unfolded: Record<string, unknown>, keys?: readonly string[]): string {
  const obj = foldExact(unfolded);
  const entries: [string, unknown][] = [];
  for (const k of keys?.filter((x) => x in obj || !x.endsWith('Exact')) ?? Object.keys(obj)) {
    const v = obj[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) entries.push([`${k}.${k2}`, v2]);
    } else {
      entries.push([k, v]);
    }
  }
  const labels = entries.map(([k]) => header(k.split('.').pop() ?? k));
  const full = entries.map(([k], i) =>
    k.includes('.') ? `${header(k.split('.')[0] ?? '')} ${labels[i]}` : labels[i],
  );
  const width = Math.max(...full.map((l) => (l ?? '').length));
  return `${entries.map(([k, v], i) => `${(full[i] ?? '').padEnd(width)}  ${cell(k.split('.').pop() ?? k, v)}`).join('\n')}\n`;
}

/** Columns of `preferred` that some row has, else every scalar key of the first row. */
export function pickColumns(
  rows: readonly Record<string, unknown>[],
  preferred: readonly string[],
): string[] {
  const present = preferred.filter((c) => rows.some((r) => c in r));
  if (present.length > 0) return present;
  const first = rows[0] ?? {};
  return Object.keys(first).filter((k) => first[k] === null || typeof first[k] !== 'object');
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Machine output: stable 2-space JSON, one document per command. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, jsonReplacer, 2)}\n`;
}
