/**
 * RFC 4180 encoding: fields are quoted when they contain a comma, a double quote, CR or LF (quotes
 * doubled inside); records end with CRLF; null/undefined is an empty field.
 */
export function csvField(value: string | number | bigint | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRecord(
  fields: readonly (string | number | bigint | boolean | null | undefined)[],
): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
