// Text Postgres `text` and `jsonb` cannot store: checked at the boundary so it is a 400, not a 500.

/** A UTF-16 surrogate with no partner (`"a\ud800b"`): not a character, so not text Postgres can store. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string cannot be stored as Postgres text, or null when it can. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'text must not contain the NUL character (\\u0000)';
  // With the `u` flag a well-formed pair is one code point outside the class: only lone halves match.
  if (LONE_SURROGATE.test(value)) return 'text must not contain a lone UTF-16 surrogate (\\uD800-\\uDFFF)';
  return null;
}
