// HDR-style latency histogram: integer microseconds in log-linear buckets (1,024 sub-buckets per
// power of two), so every recorded value is kept with ≤ 0.1% relative error in constant memory,
// whatever the run length. Percentiles are read from the bucket counts, never from a sample.

const SUB_BUCKET_BITS = 10;
const SUB = 1 << SUB_BUCKET_BITS; // 1024
const EXACT_LIMIT = 2 * SUB; // values below 2048 µs get their own bucket
const MAX_SHIFT = 32; // up to ~2^43 µs (> 100 days): more than any bounded scenario

function bucketOf(value: number): number {
  if (value < EXACT_LIMIT) return value;
  const shift = Math.floor(Math.log2(value)) - SUB_BUCKET_BITS;
  // Math.log2 may round across a power of two: correct by checking the mantissa's range.
  let s = shift;
  while (Math.floor(value / 2 ** s) >= EXACT_LIMIT) s += 1;
  while (s > 1 && Math.floor(value / 2 ** s) < SUB) s -= 1;
  return EXACT_LIMIT + (s - 1) * SUB + (Math.floor(value / 2 ** s) - SUB);
}

/** Highest value that lands in bucket `index` (what HdrHistogram calls the highest equivalent value). */
function highestOf(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const k = index - EXACT_LIMIT;
  const shift = Math.floor(k / SUB) + 1;
  const mantissa = (k % SUB) + SUB;
  return (mantissa + 1) * 2 ** shift - 1;
}

export interface LatencySummary {
  count: number;
  /** All in milliseconds (µs resolution), for reading; the histogram itself is in µs. */
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(EXACT_LIMIT + MAX_SHIFT * SUB);
  private total = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /** Records one latency in microseconds (negative → 0, fractions rounded). */
  record(micros: number): void {
    const v = Math.max(0, Math.round(micros));
    const i = Math.min(bucketOf(v), this.counts.length - 1);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.total += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  get count(): number {
    return this.total;
  }

  /** Value (µs) at or below which `p` percent of the recorded values fall; 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (p <= 0) return this.min;
    const rank = Math.ceil((Math.min(p, 100) / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(highestOf(i), this.max);
    }
    return this.max;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) {
      const c = other.counts[i] ?? 0;
      if (c) this.counts[i] = (this.counts[i] ?? 0) + c;
    }
    this.total += other.total;
    this.sum += other.sum;
    if (other.total > 0) {
      this.min = Math.min(this.min, other.min);
      this.max = Math.max(this.max, other.max);
    }
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.total,
      minMs: this.total ? ms(this.min) : 0,
      meanMs: this.total ? ms(this.sum / this.total) : 0,
      p50Ms: ms(this.percentile(50)),
      p90Ms: ms(this.percentile(90)),
      p99Ms: ms(this.percentile(99)),
      p999Ms: ms(this.percentile(99.9)),
      maxMs: ms(this.max),
    };
  }
}

/** Least-squares slope of y over x (e.g. MB per minute of RSS samples); 0 with fewer than 2 points. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The middle value, the mean of the two middle ones for an even count; null for none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
