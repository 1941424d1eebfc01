// @tollgate/client as someone outside this repository gets it: `pnpm pack` (which builds it), the
// tarball installed with npm in an empty folder outside the workspace (the npm registry provides
// @trpc/*), a small TypeScript program type-checked against the installed `.d.ts` and run against a
// real gateway + Pixelbyte simulator + Postgres, and the installed `tollgate` bin.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';

const execFileP = promisify(execFile);
/** execFile that fails with the command's own output (tsc and npm print their errors on stdout). */
async function run(cmd: string, args: string[], opts: Parameters<typeof execFileP>[2] = {}) {
  try {
    return await execFileP(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}
const pkg = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(pkg, 'node_modules/.bin/tsc');
// The pnpm running this suite (pnpm test sets npm_execpath), else the one on PATH.
const pnpm = process.env.npm_execpath?.includes('pnpm')
  ? [process.execPath, process.env.npm_execpath]
  : ['pnpm'];

// The program a user would write: admin creates and funds a tenant, the tenant prices, submits and
// waits; the types come only from the installed package. The @ts-expect-error lines prove the types
// are the router's (an `any` would make them unused directives, which tsc reports).
const PROGRAM = `
import {
  createTollgateClient,
  formatUsd,
  InsufficientCreditsError,
  type Job,
  type RouterOutputs,
} from '@tollgate/client';

declare const process: { argv: string[] }; // no @types/node in this project: the client needs none
const [url, adminToken] = process.argv.slice(2) as [string, string];
const admin = createTollgateClient({ url, token: adminToken });
const tenant: RouterOutputs['admin']['tenants']['create'] = await admin.admin.tenants.create.mutate({
  name: 'Installed Co',
});
await admin.admin.credits.topUp.mutate({ tenantId: tenant.id, amountMicroCents: 1_000_000, reference: 'INV-pkg' });
const { token } = await admin.admin.tenants.issueToken.mutate({ tenantId: tenant.id });

const tollgate = createTollgateClient({ url, token });
const quote = await tollgate.pricing.quote.query({ model: '${CHEAP_MODEL}', input: { prompt: 'a fox' } });
// @ts-expect-error: a job status is one of the router's literals
const notAStatus: Job['status'] = 'done';
void notAStatus;
// @ts-expect-error: jobs.submit needs a model
void (() => tollgate.jobs.submit.mutate({ input: {} }));

const job = await tollgate.jobs.submit.mutate({ model: '${CHEAP_MODEL}', input: { prompt: 'a fox' } });
const done: Job = await tollgate.waitForJob(job.id, { pollInterval: 100, timeoutMs: 30_000 });
let refused = '';
try {
  await tollgate.jobs.submit.mutate({ model: '${CHEAP_MODEL}', input: { prompt: 'a fox' }, maxCostMicroCents: 1 });
} catch (e) {
  refused = e instanceof InsufficientCreditsError ? 'credits' : (e as { reason?: string }).reason ?? String(e);
}
const account = await tollgate.account.get.query();
console.log(JSON.stringify({
  quote: quote.costMicroCents,
  status: done.status,
  charged: formatUsd(BigInt(done.costMicroCents)),
  available: account.availableMicroCents,
  refused,
}));
`;

let h: Harness;
let adminToken = '';
let dir = '';
let tarball = '';
beforeAll(async () => {
  // Jobs complete upstream on their own and the gateway's poller settles them, as in production.
  h = await startHarness({ sim: { autoAdvance: true }, autoStartWorkers: true });
  adminToken = await h.token({ role: 'admin', sub: 'package-e2e' });
  dir = await mkdtemp(join(tmpdir(), 'tollgate-client-install-'));
}, 180_000);
afterAll(async () => {
  await h?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('@tollgate/client installed from its packed tarball', { timeout: 240_000 }, () => {
  it('packs JavaScript and bundled declarations only, with registry dependencies', async () => {
    const [cmd, ...pre] = pnpm as [string, ...string[]];
    const { stdout } = await run(cmd, [...pre, 'pack', '--pack-destination', dir], { cwd: pkg });
    tarball = resolve(dir, stdout.trim().split('\n').pop() ?? '');
    expect(tarball).toMatch(/tollgate-client-\d+\.\d+\.\d+\.tgz$/);
    const files = (await run('tar', ['tzf', tarball])).stdout.trim().split('\n').sort();
    expect(files).toEqual([
      'package/README.md',
      'package/bin/tollgate.mjs',
      'package/dist/cli.js',
      'package/dist/index.d.ts',
      'package/dist/index.js',
      'package/package.json',
    ]);
    const manifest = JSON.parse((await run('tar', ['xzf', tarball, '-O', 'package/package.json'])).stdout);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server', 'zod']);
    expect(JSON.stringify(manifest)).not.toContain('workspace:');
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const dts = (await run('tar', ['xzf', tarball, '-O', 'package/dist/index.d.ts'])).stdout;
    // Types of the package's own dependencies only (the gateway's views are zod schemas' outputs).
    const imports = [...dts.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(['@trpc/server', '@trpc/client', 'zod']));
    expect(dts).toMatch(/admin: _trpc_server\.TRPCBuiltRouter/);
  });

  it('installs with npm in an empty folder, type-checks a program and runs it against a gateway', async () => {
    await writeFile(join(dir, 'package.json'), '{ "name": "outside", "private": true, "type": "module" }\n');
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: dir,
      env: { ...process.env, npm_config_workspaces: 'false' },
    });
    expect(await readFile(join(dir, 'node_modules/@tollgate/client/dist/index.js'), 'utf8')).toContain(
      'createTollgateClient',
    );
    await writeFile(join(dir, 'main.ts'), PROGRAM);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          // tRPC's own declarations name Disposable; no @types/node: the client needs none.
          lib: ['es2023', 'esnext.disposable', 'dom'],
          types: [],
          skipLibCheck: false,
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    // skipLibCheck is off, so the installed .d.ts is checked too. tRPC's own declarations (11.22)
    // name node:http and the `ws` package, which a project without @types/node and ws lacks: errors
    // inside node_modules/@trpc are tRPC's and tolerated; any other error (main.ts, our index.d.ts)
    // fails the test. tsc still emits the program (noEmitOnError is off).
    const typecheck = await execFileP(tsc, ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    const errors = typecheck.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !l.startsWith('node_modules/@trpc/'))).toEqual([]);
    const { stdout } = await run(process.execPath, ['out/main.js', h.url, adminToken], { cwd: dir });
    expect(JSON.parse(stdout)).toEqual({
      quote: CHEAP_PRICE,
      status: 'completed',
      charged: '0.04',
      available: 1_000_000 - CHEAP_PRICE,
      refused: 'MAX_COST_EXCEEDED',
    });
  });

  it('the installed `tollgate` bin runs the built JavaScript against the gateway', async () => {
    const bin = join(dir, 'node_modules/.bin/tollgate');
    const version = await run(bin, ['--version'], { cwd: dir });
    expect(version.stdout).toBe(`${JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')).version}\n`);
    const { stdout } = await run(bin, ['tenants', 'list', '--name', 'Installed Co', '--json'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', TOLLGATE_URL: h.url, TOLLGATE_TOKEN: adminToken },
    });
    expect(JSON.parse(stdout).items).toMatchObject([
      { name: 'Installed Co', availableMicroCents: 1_000_000 - CHEAP_PRICE },
    ]);
    // No TypeScript loader came with it: the bin is plain JavaScript.
    await expect(readFile(join(dir, 'node_modules/tsx/package.json'))).rejects.toThrow(/ENOENT/);
  });
});
