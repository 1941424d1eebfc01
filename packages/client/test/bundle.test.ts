// The client must be usable in a browser bundle: the router is imported as a type only, so no code of
// the gateway (Hono, Postgres, JWT secrets…) may reach a bundle. Checked with a real bundler (esbuild,
// the one vite/tsx ship) building src/index.ts for the browser.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('browser bundle of @tollgate/client', () => {
  it('builds for the browser without any runtime code of the gateway or node built-ins', () => {
    execFileSync(
      join(pkg, 'node_modules/.bin/esbuild'),
      [
        'src/index.ts',
        '--bundle',
        '--platform=browser',
        '--format=esm',
        `--outfile=${join(out, 'client.js')}`,
        `--metafile=${join(out, 'meta.json')}`,
        '--log-level=error',
      ],
      { cwd: pkg, stdio: 'pipe' },
    );
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(
      inputs.some((i) => i.includes('@trpc/client')),
      'the bundle really contains the tRPC client',
    ).toBe(true);
    const forbidden = inputs.filter((i) =>
      /packages\/(api|db|pixelbyte)\/|hono|postgres|drizzle|jose|pino/.test(i),
    );
    expect(forbidden, 'server code in the browser bundle').toEqual([]);
    const code = readFileSync(join(out, 'client.js'), 'utf8');
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).toContain('createTollgateClient');
  });

  it('imports @tollgate/api only as types in the client source', () => {
    const files = execFileSync('grep', ['-rln', '@tollgate/api', 'src'], { cwd: pkg, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const f of files) {
      const text = readFileSync(join(pkg, f), 'utf8');
      for (const line of text.split('\n').filter((l) => /from '@tollgate\/api/.test(l))) {
        expect(line, `${f}: runtime import of the gateway`).toMatch(/^import type /);
      }
    }
  });
});
