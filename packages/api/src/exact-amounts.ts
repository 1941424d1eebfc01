/**
 * Money literals must be exact in the request TEXT, not only after parsing. `JSON.parse` turns
 * `799999.99999999999` into 800000, and `1e3` and `1000.0` into 1000: after parsing they are
 * integers, and zod's `.int()` cannot tell. So, before any JSON body (or a tRPC query's `input`)
 * reaches a schema, its text is scanned: a number given for a key ending in `MicroCents` (every
 * amount the API takes: amountMicroCents, maxCostMicroCents, dailySpendLimitMicroCents,
 * baseCostMicroCents, …) must be written as an integer, digits only; anything else is refused with
 * 400 and never rounded. Strings of digits (the other way to send an amount) are checked by the
 * schemas as before.
 */

import { DomainError } from './errors.ts';

/** The one spelling of an exact integer in JSON. */
const INTEGER_LITERAL = /^-?(?:0|[1-9]\d*)$/;
/** A JSON number token (lenient: whatever the parser will judge; we only look at its spelling). */
const NUMBER_TOKEN = /-?[0-9][0-9.eE+-]*/y;
const AMOUNT_KEY = /MicroCents$/;
/** No number literal with a fraction or an exponent can be in a text without one of these. */
const MAYBE_INEXACT = /[0-9][.eE]/;

export type InexactAmount = { path: string; literal: string };

type Frame =
  | { kind: 'object'; key: string | undefined; expectKey: boolean }
  | { kind: 'array'; index: number };

function decodeKey(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/**
 * The first amount in `text` (JSON) written as something other than an integer literal, with its
 * path (`0.amountMicroCents` in a tRPC batch); undefined when there is none. Never throws: text that
 * is not JSON is left to the parser that follows (it refuses it with its own error).
 */
export function findInexactAmount(text: string): InexactAmount | undefined {
  if (!MAYBE_INEXACT.test(text)) return undefined;
  const stack: Frame[] = [];
  const pathOf = () => stack.map((f) => (f.kind === 'object' ? (f.key ?? '') : String(f.index))).join('.');
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const top = stack.at(-1);
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) return undefined;
      if (top?.kind === 'object' && top.expectKey) top.key = decodeKey(text.slice(i + 1, j));
      i = j + 1;
    } else if (ch === '{') {
      stack.push({ kind: 'object', key: undefined, expectKey: true });
      i++;
    } else if (ch === '[') {
      stack.push({ kind: 'array', index: 0 });
      i++;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',') {
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
      i++;
    } else if (ch === ':') {
      if (top?.kind === 'object') top.expectKey = false;
      i++;
    } else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      NUMBER_TOKEN.lastIndex = i;
      const literal = NUMBER_TOKEN.exec(text)?.[0] ?? ch;
      if (
        top?.kind === 'object' &&
        !top.expectKey &&
        top.key !== undefined &&
        AMOUNT_KEY.test(top.key) &&
        !INTEGER_LITERAL.test(literal)
      ) {
        return { path: pathOf(), literal };
      }
      i += literal.length;
    } else {
      i++;
    }
  }
  return undefined;
}

/** 400 INVALID_INPUT naming the amount, with `details.issues` shaped like a schema's. */
export function inexactAmountError({ path, literal }: InexactAmount): DomainError {
  const message = `${literal.slice(0, 40)} is not an exact integer: amounts are whole micro-cents written with digits only (no fraction, no exponent), never rounded`;
  return new DomainError({
    reason: 'INVALID_INPUT',
    message: `Invalid input: ${path || '(root)'}: ${message}`,
    details: { issues: [{ path, message, code: 'inexact_amount' }] },
  });
}
