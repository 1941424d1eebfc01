// Money helpers shared by every package. Amounts are integer micro-cents (1,000,000 = $1) held as
// `bigint`; these helpers convert to and from exact decimal USD text without ever touching a float.

/** Micro-cents in one US dollar. */
export const MICRO_CENTS_PER_USD = 1_000_000n;

const USD_DECIMALS = 6;
const USD_PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal USD amount ("12.50", "-3", "0.000001") into micro-cents, exactly.
 * Throws TypeError for anything that is not a plain decimal (no exponent, no spaces, no "+",
 * no bare "." forms) and RangeError for more than 6 decimals (finer than one micro-cent),
 * because silently rounding money is worse than refusing it.
 */
export function parseUsd(text: string): bigint {
  if (typeof text !== 'string') {
    throw new TypeError(`parseUsd expects a string, got ${typeof text}`);
  }
  const match = USD_PATTERN.exec(text);
  if (match === null) {
    throw new TypeError(`Not a decimal USD amount: ${JSON.stringify(text)} (expected e.g. "12.50" or "-3")`);
  }
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (fraction.length > USD_DECIMALS) {
    throw new RangeError(
      `USD amount ${JSON.stringify(text)} has more than ${USD_DECIMALS} decimals (the smallest unit is one micro-cent, 0.000001)`,
    );
  }
  const microCents = BigInt(whole) * MICRO_CENTS_PER_USD + BigInt(fraction.padEnd(USD_DECIMALS, '0'));
  return sign === '-' ? -microCents : microCents;
}

/**
 * Formats micro-cents as an exact decimal USD string: 12500000n → "12.50", 1n → "0.000001",
 * -1500000n → "-1.50". Trailing zeros are trimmed but at least 2 decimals are kept.
 */
export function formatUsd(microCents: bigint): string {
  if (typeof microCents !== 'bigint') {
    throw new TypeError(`formatUsd expects a bigint number of micro-cents, got ${typeof microCents}`);
  }
  const negative = microCents < 0n;
  const magnitude = negative ? -microCents : microCents;
  const whole = magnitude / MICRO_CENTS_PER_USD;
  let fraction = (magnitude % MICRO_CENTS_PER_USD).toString().padStart(USD_DECIMALS, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) {
    fraction = fraction.slice(0, -1);
  }
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/**
 * Converts micro-cents to a JS number for the wire (JSON has no bigint). Throws RangeError when the
 * amount is outside ±(2^53 − 1), where a number could no longer represent it exactly.
 */
export function toSafeNumber(microCents: bigint): number {
  if (typeof microCents !== 'bigint') {
    throw new TypeError(`toSafeNumber expects a bigint, got ${typeof microCents}`);
  }
  if (microCents > BigInt(Number.MAX_SAFE_INTEGER) || microCents < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(
      `Amount ${microCents} is outside the safe integer range and cannot be sent as a JSON number`,
    );
  }
  return Number(microCents);
}

/**
 * The inverse of toSafeNumber for amounts read from the wire: accepts only a safe integer and
 * throws RangeError otherwise (a fractional or huge number is never an amount).
 */
export function fromSafeNumber(microCents: number): bigint {
  if (!Number.isSafeInteger(microCents)) {
    throw new RangeError(`Amount ${String(microCents)} is not a safe integer number of micro-cents`);
  }
  return BigInt(microCents);
}
