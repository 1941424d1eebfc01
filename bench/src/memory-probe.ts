// Diagnostic (not part of `pnpm bench`): is the gateway's memory growth under load retained objects
// (a leak: heap after a full GC grows with jobs) or V8 sizing its heap (a sawtooth: heap after GC flat)?
// And what do V8 heap flags do to its RSS and CPU per job at the soak rate?
//
//   pnpm --filter @tollgate/bench exec tsx src/memory-probe.ts retain   # heap after GC over time + snapshot diff
//   pnpm --filter @tollgate/bench exec tsx src/memory-probe.ts flags    # RSS / CPU per job per V8 flag set
//
// The gateway is the production build (`node <NODE_FLAGS of packages/api/scripts/build.ts> dist/serve.mjs`, the
// same env as bench/src/stack.ts), restarted here with extra node flags and a preload (`--import`,
// written to a temp dir) that, on SIGUSR2, runs two full GCs (`--expose-gc`) and prints
// `MEMPROBE {process.memoryUsage(), heap space sizes}`, and on SIGWINCH writes a heap snapshot. No
// inspector, no debug endpoint: the gateway's code is untouched.
//
// Environment: RATE (req/s, default 100 for retain, 138 = the last full run's soak rate, for flags),
// TENANTS (default 1000), DATABASE_URL (optional);
//   retain: PHASES (default 3), PHASE_S (seconds per phase, default 60), GC_EVERY_S (under load, default 20),
//           SNAPSHOTS=0 to skip the heap snapshots (taken drained, after phase 1 and after the last);
//   flags:  FLAG_SETS (`;`-separated sets of node flags, the empty set is the default; default
//           `;--max-semi-space-size=8;--max-semi-space-size=4`), ROUNDS (default 2), RUN_S (default 90).
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { AppRouter } from '@tollgate/api';
import { createTRPCClient, httpLink } from '@trpc/client';
import { NODE_FLAGS } from '../../packages/api/scripts/build.ts';
import { cpuMs } from './cpu';
import { runClosedLoop, runOpenLoop } from './load';
import { type Child, freePort, REPO_ROOT, rssMb, startNodeChild, waitForHttp } from './processes';
import { targetOf, verifySubmit } from './scenarios';
import {
  AUDIENCE,
  createTenants,
  INPUT,
  ISSUER,
  MODEL,
  SIM_API_KEY,
  type Stack,
  startStack,
  type Tenant,
} from './stack';
import { slope } from './stats';

const mode = process.argv[2] ?? 'retain';
if (mode !== 'retain' && mode !== 'flags')
  throw new Error(`usage: memory-probe.ts retain|flags (got ${mode})`);
const num = (name: string, dflt: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};
const started = performance.now();
const at = () => `[t=${((performance.now() - started) / 1000).toFixed(0)}s]`;
const log = (line: string) => process.stderr.write(`${at()} ${line}\n`);
const MB = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PRELOAD = `
import v8 from 'node:v8';
import path from 'node:path';
process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
  process.stderr.write('MEMPROBE ' + JSON.stringify({ rssBefore: before.rss, heapUsedBefore: before.heapUsed, ...m, spaces }) + '\\n');
});
process.on('SIGWINCH', () => {
  const file = v8.writeHeapSnapshot(path.join(process.env.MEMPROBE_DIR, 'gateway-' + Date.now() + '.heapsnapshot'));
  process.stderr.write('MEMPROBE_SNAPSHOT ' + file + '\\n');
});
`;

interface GcReport {
  rssBefore: number;
  heapUsedBefore: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
}

interface Gateway {
  child: Child;
  url: string;
  /** Sends SIGUSR2 and waits for the MEMPROBE line (two full GCs, then process.memoryUsage()). */
  gcReport(): Promise<GcReport>;
  snapshot(): Promise<string>;
}

const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-memprobe-'));
const preload = path.join(dir, 'preload.mjs');
await writeFile(preload, PRELOAD);
const stack = await startStack({ databaseUrl: process.env.DATABASE_URL, dbPoolMax: 10, log });
// The stack's own gateway cannot take extra node flags (stack.ts passes only its own env and flags):
// stop it and run the same build with the same env, plus ours.
await stack.gateway.child.stop(20_000);
const gatewayScript = path.join(REPO_ROOT, 'packages/api/dist/serve.mjs');

async function startGateway(extraFlags: string[], probe: boolean): Promise<Gateway> {
  const port = await freePort();
  const waiters: Array<(line: string) => boolean> = [];
  const child = startNodeChild({
    name: 'gateway',
    cwd: path.join(REPO_ROOT, 'packages/api'),
    script: gatewayScript,
    tsx: false,
    nodeFlags: [
      ...NODE_FLAGS,
      ...(probe ? ['--expose-gc', '--import', pathToFileURL(preload).href] : []),
      ...extraFlags,
    ],
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: stack.database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      PIXELBYTE_BASE_URL: stack.sim.url,
      PIXELBYTE_API_KEY: SIM_API_KEY,
      JWT_SECRET: stack.jwtSecret,
      // /metrics is read by the bench without a token (a bench stack is local).
      METRICS_PUBLIC: 'true',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      LOG_LEVEL: 'warn',
      DB_POOL_MAX: '10',
      MEMPROBE_DIR: dir,
    },
    onLine: (line) => {
      const i = waiters.findIndex((w) => w(line));
      if (i >= 0) waiters.splice(i, 1);
      else if (!line.startsWith('MEMPROBE')) log(`gateway: ${line}`);
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, child);
  const expect = <T>(prefix: string, signal: NodeJS.Signals, parse: (rest: string) => T) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${prefix} line in 120 s`)), 120_000);
      waiters.push((line) => {
        if (!line.startsWith(`${prefix} `)) return false;
        clearTimeout(timer);
        resolve(parse(line.slice(prefix.length + 1)));
        return true;
      });
      process.kill(child.pid, signal);
    });
  return {
    child,
    url,
    gcReport: () => expect('MEMPROBE', 'SIGUSR2', (rest) => JSON.parse(rest) as GcReport),
    snapshot: () => expect('MEMPROBE_SNAPSHOT', 'SIGWINCH', (rest) => rest),
  };
}

const body = JSON.stringify({ model: MODEL, input: INPUT });
const submitVia = (tenants: readonly Tenant[]) => (i: number) => ({
  method: 'POST' as const,
  path: '/trpc/jobs.submit',
  headers: tenants[i % tenants.length]?.headers ?? {},
  body,
});
const jobCounts = async () => {
  const [r] = await stack.sql<{ total: number; open: number }[]>`
    SELECT count(*)::int AS total,
           (count(*) FILTER (WHERE status IN ('submitting', 'pending', 'processing')))::int AS open
    FROM jobs`;
  return { total: r?.total ?? 0, open: r?.open ?? 0 };
};
const drain = async () => {
  const t0 = performance.now();
  while ((await jobCounts()).open > 0 && performance.now() - t0 < 120_000) await sleep(250);
};
/** Samples the gateway's RSS every 0.5 s until stopped. */
const rssSampler = (pid: number) => {
  const samples: Array<{ s: number; mb: number }> = [];
  const t0 = performance.now();
  const timer = setInterval(() => {
    const mb = rssMb(pid);
    if (mb !== null) samples.push({ s: (performance.now() - t0) / 1000, mb });
  }, 500);
  return {
    samples,
    stop: () => clearInterval(timer),
  };
};

/** Objects by `type:name` (constructor for objects, source name for closures) in a .heapsnapshot. */
function snapshotCounts(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + fType] ?? 0] ?? '?';
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
        ? ''
        : (snap.strings[snap.nodes[i + fName] ?? 0] ?? '?').slice(0, 60);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count += 1;
    e.size += snap.nodes[i + fSize] ?? 0;
    out.set(key, e);
  }
  return out;
}

function diffSnapshots(a: string, b: string, jobsBetween: number): void {
  const ca = snapshotCounts(a);
  const cb = snapshotCounts(b);
  const rows = [...new Set([...ca.keys(), ...cb.keys()])].map((k) => {
    const x = ca.get(k) ?? { count: 0, size: 0 };
    const y = cb.get(k) ?? { count: 0, size: 0 };
    return { k, before: x.count, after: y.count, dCount: y.count - x.count, dSize: y.size - x.size };
  });
  const total = (m: Map<string, { count: number; size: number }>) =>
    [...m.values()].reduce((s, e) => ({ count: s.count + e.count, size: s.size + e.size }), {
      count: 0,
      size: 0,
    });
  const ta = total(ca);
  const tb = total(cb);
  log(
    `snapshot diff over ${jobsBetween} jobs: ${ta.count} → ${tb.count} nodes, ${MB(ta.size)} → ${MB(tb.size)} MB self size`,
  );
  log('top growth by count (type:name before → after, Δcount, Δbytes, per 1,000 jobs):');
  for (const r of rows.sort((p, q) => q.dCount - p.dCount).slice(0, 20))
    log(
      `  ${r.k.padEnd(62)} ${r.before} → ${r.after}  Δ${r.dCount}  Δ${r.dSize} B  ${((r.dCount * 1000) / Math.max(1, jobsBetween)).toFixed(2)}/1k jobs`,
    );
  log('top growth by bytes:');
  for (const r of rows.sort((p, q) => q.dSize - p.dSize).slice(0, 10))
    log(`  ${r.k.padEnd(62)} Δ${r.dCount}  Δ${r.dSize} B`);
}

const createOn = async (gw: Gateway, count: number): Promise<Tenant[]> => {
  const admin = createTRPCClient<AppRouter>({
    links: [
      httpLink({ url: `${gw.url}/trpc`, headers: () => ({ authorization: `Bearer ${stack.adminToken}` }) }),
    ],
  });
  const t0 = performance.now();
  const tenants = await createTenants({ ...stack, admin } as Stack, {
    count,
    label: 'memprobe',
    balanceMicroCents: 1e15,
  });
  log(`${count} tenants created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return tenants;
};

async function retain(): Promise<void> {
  const rate = num('RATE', 100);
  const phases = num('PHASES', 3);
  const phaseS = num('PHASE_S', 60);
  const gcEveryS = num('GC_EVERY_S', 20);
  const snapshots = process.env.SNAPSHOTS !== '0';
  const gw = await startGateway([], true);
  const pid = gw.child.pid;
  const table: string[] = [];
  const point = async (label: string, jobs: number) => {
    const r = await gw.gcReport();
    const line = `${label.padEnd(26)} jobs ${String(jobs).padStart(6)}  heapUsed after GC ${MB(r.heapUsed)} MB (before ${MB(r.heapUsedBefore)})  old ${MB(r.spaces.old_space ?? 0)}  code ${MB(r.spaces.code_space ?? 0)}  external ${MB(r.external)}  arrayBuffers ${MB(r.arrayBuffers)}  heapTotal ${MB(r.heapTotal)}  RSS ${MB(r.rssBefore)} → ${MB(r.rss)} MB`;
    log(line);
    table.push(`${at()} ${line}`);
    return r;
  };
  await point('boot', 0);
  const tenants = await createOn(gw, num('TENANTS', 1000));
  const submit = submitVia(tenants);
  const target = targetOf(gw.url);
  const base = (await jobCounts()).total;
  await point('after tenants', 0);
  await runClosedLoop({ target, durationMs: 10_000, concurrency: 16, make: submit, verify: verifySubmit });
  await drain();
  await point('after warm-up (drained)', (await jobCounts()).total - base);
  const snaps: Array<{ file: string; jobs: number }> = [];
  for (let p = 1; p <= phases; p++) {
    let stopped = false;
    const underLoad = (async () => {
      for (;;) {
        for (let s = 0; s < gcEveryS * 4 && !stopped; s++) await sleep(250);
        if (stopped) return;
        await point(`phase ${p} under load`, (await jobCounts()).total - base);
      }
    })();
    const cpu0 = cpuMs(pid) ?? 0;
    const res = await runOpenLoop({
      target,
      durationMs: phaseS * 1000,
      rps: rate,
      make: submit,
      verify: verifySubmit,
    });
    stopped = true;
    await underLoad;
    await drain();
    const cpu = ((cpuMs(pid) ?? 0) - cpu0) / Math.max(1, res.ok);
    log(
      `phase ${p}: ${res.ok} ok, ${res.failed} failed ${JSON.stringify(res.errors)}, p50 ${res.latency.p50Ms} ms, p99 ${res.latency.p99Ms} ms, CPU ${cpu.toFixed(2)} ms/job (forced GCs included)`,
    );
    const jobs = (await jobCounts()).total - base;
    await point(`phase ${p} drained`, jobs);
    if (snapshots && (p === 1 || p === phases)) {
      const file = await gw.snapshot();
      log(`heap snapshot ${file} at ${jobs} jobs`);
      snaps.push({ file, jobs });
    }
  }
  await gw.child.stop(20_000);
  process.stdout.write(
    `\nheap after full GC (rate ${rate} req/s, ${tenants.length} tenants):\n${table.join('\n')}\n`,
  );
  const [first, last] = [snaps[0], snaps.at(-1)];
  if (first && last && first !== last) diffSnapshots(first.file, last.file, last.jobs - first.jobs);
}

async function flags(): Promise<void> {
  const rate = num('RATE', 138);
  const rounds = num('ROUNDS', 2);
  const runS = num('RUN_S', 90);
  const sets = (process.env.FLAG_SETS ?? ';--max-semi-space-size=8;--max-semi-space-size=4')
    .split(';')
    .map((s) => s.trim().split(/\s+/).filter(Boolean));
  let tenants: Tenant[] = [];
  {
    const gw = await startGateway([], false);
    tenants = await createOn(gw, num('TENANTS', 1000));
    await gw.child.stop(20_000);
  }
  const submit = submitVia(tenants);
  const rows: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const set of sets) {
      const name = set.join(' ') || '(default)';
      const gw = await startGateway(set, false);
      const pid = gw.child.pid;
      const target = targetOf(gw.url);
      const boot = rssMb(pid);
      await runClosedLoop({
        target,
        durationMs: 10_000,
        concurrency: 16,
        make: submit,
        verify: verifySubmit,
      });
      await drain();
      const rest = rssMb(pid);
      const rss = rssSampler(pid);
      const cpu0 = cpuMs(pid) ?? 0;
      const res = await runOpenLoop({
        target,
        durationMs: runS * 1000,
        rps: rate,
        make: submit,
        verify: verifySubmit,
      });
      await drain();
      const cpu = ((cpuMs(pid) ?? 0) - cpu0) / Math.max(1, res.ok);
      rss.stop();
      const mbs = rss.samples.map((x) => x.mb);
      const settled = rss.samples.slice(Math.floor(rss.samples.length / 5));
      const mean = mbs.reduce((a, b) => a + b, 0) / Math.max(1, mbs.length);
      const row = `round ${round} ${name.padEnd(28)} RSS boot ${boot} rest ${rest} | load: peak ${Math.max(...mbs)} mean ${mean.toFixed(1)} end ${mbs.at(-1)} slope ${slope(settled.map((x) => ({ x: x.s / 60, y: x.mb }))).toFixed(1)} MB/min | CPU ${cpu.toFixed(2)} ms/job | ${res.ok} ok (${res.okPerSecond.toFixed(0)}/s), ${res.failed} failed, p50 ${res.latency.p50Ms} p99 ${res.latency.p99Ms} ms`;
      log(row);
      rows.push(row);
      await gw.child.stop(20_000);
    }
  }
  process.stdout.write(
    `\nrate ${rate} req/s for ${runS} s, ${tenants.length} tenants:\n${rows.join('\n')}\n`,
  );
}

try {
  if (mode === 'retain') await retain();
  else await flags();
} finally {
  await stack.stop();
  const left = await readdir(dir);
  if (process.env.KEEP_SNAPSHOTS === '1') log(`kept ${left.length} files in ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
