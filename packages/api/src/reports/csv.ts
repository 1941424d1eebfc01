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

/**
 * Blank characters a spreadsheet may skip before reading a formula (`  =1+2` runs in some of them):
 * JavaScript's `\s` set, spelled out so that the SQL twin (`csvTextSql`) uses exactly the same one.
 */
export const CSV_BLANK_CLASS =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * A text cell a spreadsheet would run as a formula: it starts with a tab or a CR, or its first
 * non-blank character is = + - or @.
 */
const FORMULA_START = new RegExp(`^[${CSV_BLANK_CLASS}]*[=+\\-@\\t\\r]`);

/**
 * Formula-injection guard for a free-text cell (a reason, a reference, an actor, a tag): when its
 * first non-blank character is = + - or @ (or it starts with a tab or CR), a leading `'` makes
 * spreadsheets show it as text instead of evaluating it (OWASP "CSV injection"). Leading blanks do
 * not hide a formula: `  =1+2` is guarded too. Apply it to text columns only: numeric columns
 * (amounts, counts, `-12.50` in USD) are written as they are and stay numbers. The same rule is
 * applied in SQL for the ledger CSV (`csvTextSql` in routes.ts).
 */
export function csvText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return FORMULA_START.test(value) ? `'${value}` : value;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Turns Postgres `COPY … (FORMAT csv)` output (records end with LF) into RFC 4180 records ending
 * with CRLF, chunk by chunk, whatever the chunk boundaries. Only record terminators change: an LF
 * inside a quoted field is data and stays as it is (Postgres quotes any field holding CR, LF, a
 * comma or a quote, and doubles quotes inside, exactly like `csvField`). The quote state carries
 * over from one chunk to the next.
 */
export class CrlfRecords {
  private inQuotes = false;

  push(chunk: Uint8Array): Uint8Array {
    // Pass 1: the record terminators (LF outside quotes). indexOf jumps over runs of plain bytes.
    const ends: number[] = [];
    let pos = 0;
    let nextQuote = chunk.indexOf(QUOTE);
    while (pos < chunk.length) {
      if (this.inQuotes) {
        if (nextQuote === -1) break;
        this.inQuotes = false;
        pos = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, pos);
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf !== -1 && (nextQuote === -1 || lf < nextQuote)) {
        ends.push(lf);
        pos = lf + 1;
      } else if (nextQuote !== -1) {
        this.inQuotes = true;
        pos = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, pos);
      } else break;
    }
    if (ends.length === 0) return chunk;
    // Pass 2: copy, with a CR before each terminator.
    const out = new Uint8Array(chunk.length + ends.length);
    let from = 0;
    let at = 0;
    for (const lf of ends) {
      out.set(chunk.subarray(from, lf), at);
      at += lf - from;
      out[at++] = CR;
      out[at++] = LF;
      from = lf + 1;
    }
    out.set(chunk.subarray(from), at);
    return out;
  }
}
