// "Did you mean …?" for command names and model ids: the closest candidates by edit distance.

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * Up to `max` of the candidates closest to `input`: within a third of its length in edits (at least 2), or
 * containing it (a model id typed without its provider, "nano-banana"), best first.
 */
export function closest(input: string, candidates: readonly string[], max = 3): string[] {
  const needle = input.toLowerCase();
  const limit = Math.max(2, Math.floor(needle.length / 3));
  return candidates
    .map((c) => {
      const hay = c.toLowerCase();
      const d = editDistance(needle, hay);
      return { c, d: d <= limit ? d : hay.includes(needle) && needle.length >= 3 ? limit + 1 : Infinity };
    })
    .filter((x) => x.d !== Infinity)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .filter((x, _, all) => x.d === all[0]?.d) // only the best: "lst" is list, not also get
    .slice(0, max)
    .map((x) => x.c);
}

/** "did you mean `a` or `b`?" (empty when nothing is close). */
export function didYouMean(input: string, candidates: readonly string[], format = (c: string) => c): string {
  const found = closest(input, candidates);
  if (found.length === 0) return '';
  const names = found.map((c) => `\`${format(c)}\``);
  return `did you mean ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`}?`;
}
