import { describe, expect, it } from 'vitest';
import { Histogram, median, slope } from './stats';

function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? 0;
}

describe('Histogram', () => {
  it('is exact below 2,048 µs', () => {
    const h = new Histogram();
    for (let v = 1; v <= 1000; v++) h.record(v);
    expect(h.percentile(50)).toBe(500);
    expect(h.percentile(99)).toBe(990);
    expect(h.percentile(100)).toBe(1000);
    expect(h.summary()).toMatchObject({ count: 1000, minMs: 0.001, maxMs: 1, p50Ms: 0.5 });
  });

  it('keeps every percentile within 0.1% of the exact value over a wide range', () => {
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      // log-uniform between 1 µs and ~100 s
      values.push(Math.round(Math.exp((x / 2 ** 31) * Math.log(1e8))));
    }
    const h = new Histogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9, 100]) {
      const exact = exactPercentile(sorted, p);
      const approx = h.percentile(p);
      expect(approx, `p${p}`).toBeGreaterThanOrEqual(exact);
      expect((approx - exact) / Math.max(exact, 1), `p${p} relative error`).toBeLessThanOrEqual(0.001);
    }
  });

  it('handles bucket edges at powers of two', () => {
    for (const v of [2047, 2048, 2049, 4095, 4096, 2 ** 20 - 1, 2 ** 20, 2 ** 33]) {
      const h = new Histogram();
      h.record(v);
      expect(h.percentile(50), String(v)).toBe(v);
    }
  });

  it('merges and reports empty histograms as zeros', () => {
    const a = new Histogram();
    const b = new Histogram();
    expect(a.summary().p99Ms).toBe(0);
    a.record(100);
    b.record(300);
    b.record(200);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.percentile(50)).toBe(200);
    expect(a.summary().maxMs).toBe(0.3);
    expect(a.summary().minMs).toBe(0.1);
  });
});

describe('slope', () => {
  it('is the least-squares slope', () => {
    expect(slope([])).toBe(0);
    expect(slope([{ x: 0, y: 1 }])).toBe(0);
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 2 * x + 5 })))).toBeCloseTo(2, 10);
  });
});

describe('median', () => {
  it('is the middle value, the mean of the middle two for an even count, null for none', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
