import { randomBytes } from 'node:crypto';

// JSON.stringify cannot write a bigint as a number literal; a replacer swaps it for a marked string that
// is then unquoted. The marker is random per process, so no genuine string can be mistaken for one.
const MARKER = `__pb_sim_bigint_${randomBytes(8).toString('hex')}__:`;
const MARKED = new RegExp(`"${MARKER}(-?\\d+)"`, 'g');

/**
 * Serialises with exact bigints: as JSON numbers (`bigints: 'number'`, what Pixelbyte sends) or as
 * decimal strings. Keys listed in `stringKeys` have their numeric value sent as a string instead
 * (the documented "numbers as strings" looseness).
 */
export function stringifyJson(
  value: unknown,
  opts: { bigints: 'number' | 'string'; stringKeys?: ReadonlySet<string> },
): string {
  const text = JSON.stringify(value, (key, v: unknown) => {
    const asString = opts.stringKeys?.has(key) ?? false;
    if (typeof v === 'bigint') return asString || opts.bigints === 'string' ? v.toString() : `${MARKER}${v}`;
    if (typeof v === 'number' && asString) return String(v);
    return v;
  });
  return text.replace(MARKED, '$1');
}
