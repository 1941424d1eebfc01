// The build of @tollgate/client: what its npm tarball ships (`pnpm build`; `pnpm pack` runs it first).
//
//   dist/index.js    the client library: ESM, no Node built-ins (browsers too); @trpc/* stay imports
//                    (they are its dependencies), the money helpers of @tollgate/pricing are inlined.
//   dist/cli.js      the `tollgate` CLI, bundled the same way for Node (bin/tollgate.mjs imports it).
//   dist/index.d.ts  every type of the client in one file, the gateway's `AppRouter` included, so a
//                    project outside this workspace gets the typed procedures without @tollgate/api.
//
// Plain JavaScript run by node, not TypeScript through tsx, so that bin/tollgate.mjs can rebuild a
// stale CLI inside a checkout in ~0.2 s (see `ensureCliBuilt`).
//
// Types: TypeScript 7 (the workspace's `tsc`) emits declarations for the client and, through `paths`,
// for the gateway's router and the modules it names; rollup-plugin-dts then bundles them into one
// file. TypeScript 7 has no compiler API, which rollup-plugin-dts needs: it uses the official
// compatibility package `@typescript/typescript6` (a devDependency) for that, by itself.
// The router's tRPC context (database handles, logger, metrics) is server-only and never reaches a
// client's types: its declaration is replaced by an opaque type. The gateway's views are zod schemas
// (`z.output<typeof schema>`, the REST document is generated from them), so the declarations import
// zod's types: zod is a dependency of the package. A bundle that would import anything else (a
// procedure returning a drizzle row type, say) fails the build, naming it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(PKG_DIR, 'dist');
export const CLI_OUT = join(DIST, 'cli.js');
const PRICING_MONEY = join(PKG_DIR, '../pricing/src/money.ts');

/** What the published JavaScript may import: the package's own dependencies (and Node's, for the CLI). */
const RUNTIME_EXTERNAL = ['@trpc/client', '@trpc/server', '@trpc/server/*'];

/** esbuild writes to a temporary name first: parallel test files may build at the same moment. */
async function bundleJs(entry, outfile, platform) {
  const esbuild = await import('esbuild');
  const tmp = `${outfile}.${process.pid}.tmp`;
  mkdirSync(dirname(outfile), { recursive: true });
  await esbuild.build({
    entryPoints: [join(PKG_DIR, entry)],
    outfile: tmp,
    bundle: true,
    format: 'esm',
    platform,
    target: 'node20',
    external: RUNTIME_EXTERNAL,
    legalComments: 'none',
    logLevel: 'error',
  });
  renameSync(tmp, outfile);
}

export async function buildJs() {
  await bundleJs('src/index.ts', join(DIST, 'index.js'), 'neutral');
  await bundleJs('src/cli/main.ts', CLI_OUT, 'node');
}

/** What the bundled declarations may import: the package's own dependencies (package.json). */
const TYPE_DEPENDENCIES = /^(@trpc\/(client|server)|zod)(\/|$)/;

/**
 * Every module of the workspace, by the specifier other packages import it with (from each package's
 * `exports`), → its source file. tsc gets them as `paths`, so it emits their declarations like the
 * client's own (through node_modules they would be library files, not emitted), and the bundler
 * resolves the same specifiers to those declarations.
 */
function workspaceModules() {
  const packagesDir = join(PKG_DIR, '..');
  const modules = {};
  for (const dir of readdirSync(packagesDir)) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const [sub, file] of Object.entries(manifest.exports ?? {})) {
      if (typeof file !== 'string') continue;
      modules[`${manifest.name}${sub === '.' ? '' : sub.slice(1)}`] = join(packagesDir, dir, file);
    }
  }
  return modules;
}

export async function buildTypes() {
  const emitDir = join(tmpdir(), `tollgate-client-dts-${process.pid}-${Date.now()}`);
  const packagesDir = join(PKG_DIR, '..');
  const modules = workspaceModules();
  const declarationOf = (source) => join(emitDir, relative(packagesDir, source).replace(/\.ts$/, '.d.ts'));
  try {
    mkdirSync(emitDir, { recursive: true });
    const tsconfig = join(emitDir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(PKG_DIR, '../../tooling/typescript/base.json'),
        compilerOptions: {
          allowImportingTsExtensions: true,
          noEmit: false,
          declaration: true,
          emitDeclarationOnly: true,
          rootDir: packagesDir,
          outDir: emitDir,
          // @types/node from the client's own node_modules (the base config names it).
          typeRoots: [join(PKG_DIR, 'node_modules/@types')],
          paths: Object.fromEntries(Object.entries(modules).map(([id, file]) => [id, [file]])),
        },
        files: [join(PKG_DIR, 'src/index.ts')],
      }),
    );
    execFileSync(join(PKG_DIR, 'node_modules/.bin/tsc'), ['-p', tsconfig], { stdio: 'inherit' });
    const { rollup } = await import('rollup');
    const { dts } = await import('rollup-plugin-dts');
    const contextDts = join(emitDir, 'api/src/context.d.ts');
    const bundle = await rollup({
      input: join(emitDir, 'client/src/index.d.ts'),
      plugins: [
        {
          name: 'tollgate-workspace-types',
          resolveId(id) {
            const source = modules[id];
            return source === undefined ? null : declarationOf(source);
          },
          load(id) {
            if (id !== contextDts) return null;
            return "/** The gateway's request context: server-only, opaque to clients. */\nexport type Context = object;\n";
          },
        },
        dts({ respectExternal: false }),
      ],
      external: (id) => TYPE_DEPENDENCIES.test(id),
      onwarn(warning, warn) {
        if (warning.code !== 'UNRESOLVED_IMPORT') warn(warning);
      },
    });
    const { output } = await bundle.generate({ format: 'es' });
    const code = output[0].code;
    const imported = [...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    const foreign = [...new Set(imported.filter((m) => !TYPE_DEPENDENCIES.test(m)))];
    if (foreign.length > 0) {
      throw new Error(
        `dist/index.d.ts would import ${foreign.join(', ')}: a client installed outside this workspace ` +
          "cannot resolve that. Give the procedure an output type of plain fields or a zod schema's " +
          'output (see jobViewSchema in packages/api/src/services/wire.ts) instead of a type from that package.',
      );
    }
    mkdirSync(DIST, { recursive: true });
    writeFileSync(join(DIST, 'index.d.ts'), code);
  } finally {
    rmSync(emitDir, { recursive: true, force: true });
  }
}

function newestMtime(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * Inside a checkout: (re)builds dist/cli.js when a source it is made of is newer, so `pnpm tollgate`
 * always runs the code in front of you. Never called in an installed package (it has no src/).
 */
export async function ensureCliBuilt() {
  let built = 0;
  try {
    built = statSync(CLI_OUT).mtimeMs;
  } catch {
    // Not built yet.
  }
  const sources = [
    join(PKG_DIR, 'src'),
    PRICING_MONEY,
    join(PKG_DIR, 'package.json'),
    fileURLToPath(import.meta.url),
  ];
  if (sources.some((s) => newestMtime(s) > built)) await bundleJs('src/cli/main.ts', CLI_OUT, 'node');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(DIST, { recursive: true, force: true });
  await buildJs();
  if (!process.argv.includes('--js-only')) await buildTypes();
}
