// Exact non-negative rational arithmetic on bigint, so prices never pass through a float.
// Factors are written as decimal strings ("1.67") and become exact ratios (167/100).

/** An exact non-negative rational number num/den (den > 0). Not necessarily reduced. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** A positive or zero decimal without exponent, sign or spaces: "5", "1.5", "0.25". */
export const DECIMAL_PATTERN = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

export const ONE: Ratio = { num: 1n, den: 1n };

export function parseDecimal(text: string): Ratio {
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) {
    throw new TypeError(`Not a non-negative decimal: ${JSON.stringify(text)}`);
  }
  const [, whole = '0', fraction = ''] = match;
  return { num: BigInt(whole + fraction), den: 10n ** BigInt(fraction.length) };
}

export function multiply(a: Ratio, b: Ratio): Ratio {
  return { num: a.num * b.num, den: a.den * b.den };
}

/** Smallest integer ≥ num/den, for non-negative ratios: prices round up, once, at the end. */
export function ceil(ratio: Ratio): bigint {
  if (ratio.num < 0n || ratio.den <= 0n) {
    throw new RangeError('ceil is only defined here for non-negative ratios');
  }
  return (ratio.num + ratio.den - 1n) / ratio.den;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) {
    [x, y] = [y, x % y];
  }
  return x;
}

export function reduce(ratio: Ratio): Ratio {
  const divisor = gcd(ratio.num, ratio.den);
  return divisor <= 1n ? ratio : { num: ratio.num / divisor, den: ratio.den / divisor };
}

/**
 * Exact text for a ratio: a decimal when it terminates ("1.025", "2500000"), which is always the
 * case for products of decimal factors, otherwise "num/den".
 */
export function formatRatio(ratio: Ratio): string {
  const { num, den } = reduce(ratio);
  let rest = den;
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos += 1;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives += 1;
  }
  if (rest !== 1n) {
    return `${num}/${den}`;
  }
  const digits = Math.max(twos, fives);
  const scaled = (num * 10n ** BigInt(digits)) / den;
  if (digits === 0) {
    return scaled.toString();
  }
  const text = scaled.toString().padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}
