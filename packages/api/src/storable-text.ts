// Text Postgres `text` and `jsonb` cannot store: checked at every boundary (tRPC: trpc.ts, for every
// procedure; any other route that takes a body should call unstorableTextPath too) so it is a 400
// naming the field, not a 500 from the database.

/** A UTF-16 surrogate with no partner (`"a\ud800b"`): not a character, so not text Postgres can store. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string cannot be stored as Postgres text, or null when it can. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'text must not contain the NUL character (\\u0000)';
  // With the `u` flag a well-formed pair is one code point outside the class: only lone halves match.
  if (LONE_SURROGATE.test(value)) return 'text must not contain a lone UTF-16 surrogate (\\uD800-\\uDFFF)';
  return null;
}

/**
 * Where the first string that Postgres text and jsonb cannot store (U+0000, or a lone UTF-16
 * surrogate) is in a parsed input (a dotted path, '' for the root), and why; or null. Such an input
 * would otherwise reach the database and fail there as a 500.
 */
export function unstorableTextPath(input: unknown): { path: string; message: string } | null {
  // Iterative, and the path built only for a hit: a parsed body may nest thousands of levels deep.
  type Step = { value: unknown; key: string; parent: Step | null };
  const pathOf = (step: Step | null): string => {
    const keys: string[] = [];
    for (let s = step; s !== null && s.parent !== null; s = s.parent) keys.push(s.key);
    return keys.reverse().join('.');
  };
  const pending: Step[] = [{ value: input, key: '', parent: null }];
  for (let step = pending.pop(); step !== undefined; step = pending.pop()) {
    const { value } = step;
    if (typeof value === 'string') {
      const message = unstorableText(value);
      if (message) return { path: pathOf(step), message };
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const childStep = { value: child, key, parent: step };
        const message = unstorableText(key);
        if (message) return { path: pathOf(childStep), message };
        pending.push(childStep);
      }
    }
  }
  return null;
}
