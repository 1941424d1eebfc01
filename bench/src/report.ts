// Targets, ratios and the terminal table: pure functions over the figures a run measured.

export interface TargetCheck {
  id: string;
  description: string;
  /** `min`: actual must be ≥ target; `max`: actual must be ≤ target. */
  kind: 'min' | 'max';
  target: number;
  /** null when the figures it needs were not measured (skipped or failed scenario). */
  actual: number | null;
  unit: string;
  met: boolean | null;
  /** "met with 23% to spare" / "missed by 40%" / "not measured". */
  verdict: string;
}

/** How far `actual` is from `target`, in percent of the target, said the way a reader needs it. */
export function checkTarget(t: Omit<TargetCheck, 'met' | 'verdict'>): TargetCheck {
  if (t.actual === null || !Number.isFinite(t.actual)) {
    return { ...t, actual: null, met: null, verdict: 'not measured' };
  }
  const met = t.kind === 'min' ? t.actual >= t.target : t.actual <= t.target;
  const gap = t.target === 0 ? 0 : Math.abs(t.actual - t.target) / Math.abs(t.target);
  const pct = `${Math.round(gap * 1000) / 10}%`;
  return { ...t, met, verdict: met ? `met (${pct} margin)` : `MISSED by ${pct}` };
}

/** a / b rounded to 3 decimals; null when either side is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/** Difference rounded to µs; null when either side is missing. */
export function diff(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  return Math.round((a - b) * 1000) / 1000;
}

/** A plain aligned text table (first column left-aligned, the rest right-aligned). */
export function formatTable(header: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? '–' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0] ?? []), sep, ...cells.slice(1).map(line)].join('\n');
}

/** `2026-11-26T05-01-02Z`: sortable, and valid in a file name everywhere. */
export function fileTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}
