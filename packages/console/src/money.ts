import { formatUsd, parseUsd } from '@tollgate/pricing/money';

/**
 * "$12.50" from a wire amount (a safe-integer number of micro-cents, or its digits as a string),
 * exact: through bigint and the project's formatUsd, never a float.
 */
export function usd(microCents: number | string | bigint): string {
  const n = typeof microCents === 'bigint' ? microCents : BigInt(microCents);
  const text = formatUsd(n);
  return text.startsWith('-') ? `−$${text.slice(1)}` : `$${text}`;
}

/**
 * Parses what an operator typed in an "Amount (USD)" field ("12.50", "$1,000", " 3 ") into micro-cents
 * for the wire (a digit string, exact at any size). Returns an error text instead of throwing.
 */
export function parseUsdInput(
  text: string,
  opts: { signed?: boolean } = {},
): { ok: true; microCents: bigint } | { ok: false; error: string } {
  const cleaned = text.trim().replace(/^\$/, '').replace(/,/g, '');
  const signed = cleaned.replace(/^-\$/, '-');
  if (signed === '') return { ok: false, error: 'Enter an amount in USD, e.g. 12.50' };
  let microCents: bigint;
  try {
    microCents = parseUsd(signed);
  } catch (e) {
    return {
      ok: false,
      error:
        e instanceof RangeError
          ? 'At most 6 decimals (the smallest unit is $0.000001)'
          : 'Enter a plain amount in USD, e.g. 12.50',
    };
  }
  if (microCents === 0n) return { ok: false, error: 'The amount must not be zero' };
  if (microCents < 0n && !opts.signed) return { ok: false, error: 'The amount must be positive' };
  return { ok: true, microCents };
}
