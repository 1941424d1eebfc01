// The console's initial JavaScript (what the browser must load before the first page shows) stays
// within 250 KB gzipped. Measured on the production build made by test/build-once.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const BUDGET_BYTES = 250 * 1024;

/** A chunk's static imports (`import … from "./x.js"`, `import "./x.js"`); `import("./x.js")` is lazy and not counted. */
function staticImports(code: string): string[] {
  const found: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*)["']\.\/([^"']+\.js)["']/g))
    if (m[1]) found.push(m[1]);
  return found;
}

/** Every JS file index.html loads: its entry and modulepreloads, and what they import statically. */
function initialScripts(): string[] {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const pending = [...html.matchAll(/(?:src|href)="\/console\/assets\/([^"]+\.js)"/g)].map((m) => m[1] ?? '');
  const seen = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (file === '' || seen.has(file)) continue;
    seen.add(file);
    pending.push(...staticImports(readFileSync(join(DIST, 'assets', file), 'utf8')));
  }
  return [...seen];
}

describe('console bundle budget', () => {
  it('initial JavaScript ≤ 250 KB gzipped; the charting library is loaded later, with the usage page', () => {
    const files = initialScripts();
    expect(files.length).toBeGreaterThan(0);
    const gzipped = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(DIST, 'assets', f))).length, 0);
    expect(gzipped, `initial JS ${files.join(', ')} = ${gzipped} bytes gzipped`).toBeLessThanOrEqual(
      BUDGET_BYTES,
    );
    // Chart.js's own error text marks where it was bundled: the lazy usage chunk, not the initial load.
    const chartJs = 'Failed to create chart';
    for (const f of files) expect(readFileSync(join(DIST, 'assets', f), 'utf8'), f).not.toContain(chartJs);
    const lazy = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js') && !files.includes(f));
    expect(lazy.some((f) => readFileSync(join(DIST, 'assets', f), 'utf8').includes(chartJs))).toBe(true);
  });

  it('is a production build: React without its development checks', () => {
    const code = initialScripts()
      .map((f) => readFileSync(join(DIST, 'assets', f), 'utf8'))
      .join('\n');
    // React's development build carries these texts; its production build does not.
    expect(code).not.toContain('react-dom.development');
    expect(code).not.toContain('Each child in a list should have a unique "key" prop');
  });
});
