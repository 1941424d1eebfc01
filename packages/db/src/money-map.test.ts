// The money map (README.md, "Money map") names, for every money movement, the TypeScript entry, the
// SQL function file, the gateway callers and the tests. This keeps it from drifting silently: every
// path it names exists, every `file.ts:fn` is defined in that file, every database function file and
// every ledger module is named.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = path.resolve(packageRoot, '../..');

function moneyMap(): string {
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Money map\n');
  if (start < 0) throw new Error('README.md has no "## Money map" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Backticked paths: `src/…`, `sql/…` (this package) or `packages/…`, `bench/…` (the repo), with an optional `:name`. */
function namedPaths(map: string): { ref: string; file: string; name: string | undefined }[] {
  return [...map.matchAll(/`((?:src|sql|packages|bench)\/[\w./-]+)(?::(\w+))?`/g)].map((m) => {
    const rel = m[1] as string;
    const root = rel.startsWith('packages/') || rel.startsWith('bench/') ? repoRoot : packageRoot;
    return { ref: m[0].slice(1, -1), file: path.join(root, rel), name: m[2] };
  });
}

describe('money map (README.md)', () => {
  const map = moneyMap();
  const named = namedPaths(map);

  it('names paths that exist, and functions defined in them', () => {
    expect(named.length).toBeGreaterThan(30);
    const missing = named.filter((n) => !existsSync(n.file)).map((n) => n.ref);
    expect(missing, 'paths in the money map that do not exist').toEqual([]);
    const undefinedNames = named
      .filter((n) => n.name !== undefined)
      .filter((n) => !new RegExp(`(function|const|class)\\s+${n.name}\\b`).test(readFileSync(n.file, 'utf8')))
      .map((n) => n.ref);
    expect(undefinedNames, 'functions in the money map not defined in the file named').toEqual([]);
  });

  it('names every database function file', () => {
    const files = readdirSync(path.join(packageRoot, 'sql/functions')).filter((f) => f.endsWith('.sql'));
    const unnamed = files.filter((f) => !map.includes(`\`sql/functions/${f}\``));
    expect(unnamed, 'sql/functions files the money map does not name').toEqual([]);
  });

  it('names every ledger module', () => {
    const modules = readdirSync(path.join(packageRoot, 'src/ledger')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts',
    );
    const unnamed = modules.filter((f) => !map.includes(`\`${f}\``) && !map.includes(`src/ledger/${f}`));
    expect(unnamed, 'ledger modules the money map does not name').toEqual([]);
  });
});
