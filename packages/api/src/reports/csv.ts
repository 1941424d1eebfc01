const NEEDS_QUOTES = /[",\r\n]/;

/**
 * RFC 4180 encoding: fields are quoted when they contain a comma, a double quote, CR or LF (quotes
 * doubled inside); records end with CRLF; null/undefined is an empty field.
 */
export function csvField(value: string | number | bigint | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  // Numbers, bigints and booleans never contain a character that needs quoting: skip the scan.
  if (typeof value !== 'string') return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvRecord(
  fields: readonly (string | number | bigint | boolean | null | undefined)[],
): string {
  // A plain loop: no intermediate array per record (the ledger CSV encodes millions of them).
  let record = '';
  for (let i = 0; i < fields.length; i++) record += i === 0 ? csvField(fields[i]) : `,${csvField(fields[i])}`;
  return `${record}\r\n`;
}
