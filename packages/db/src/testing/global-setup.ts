// Vitest globalSetup shared by every package that needs a database: one Postgres server per test
// run. List it in a vitest config as `globalSetup: ['@tollgate/db/testing/global-setup']` (or by path).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../embedded';
import { embeddedPostgresVerbose, testDatabaseUrl } from './env';
import './provided-context';

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let adminUrl: string;
  let stopServer: (() => Promise<void>) | undefined;
  if (testDatabaseUrl) {
    adminUrl = testDatabaseUrl;
  } else {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tollgate-pg-'));
    const server = await startEmbeddedPostgres({
      dataDir,
      persistent: false,
      // As root from a folder the `postgres` user cannot enter: where the binaries were copied.
      notice: (line: string) => console.error(`[embedded postgres] ${line}`),
      ...(embeddedPostgresVerbose ? { log: (line: string) => console.error(`[postgres] ${line}`) } : {}),
    });
    adminUrl = server.adminUrl;
    stopServer = server.stop;
  }
  project.provide('tollgateDbAdminUrl', adminUrl);
  project.provide('tollgateDbRunId', runId);

  return async () => {
    if (stopServer) {
      await stopServer();
      return;
    }
    // Shared server: drop whatever this run's test files left behind.
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ datname: string }[]>`
        SELECT datname FROM pg_database WHERE datname LIKE ${`tollgate_test_${runId}_%`}`;
      for (const { datname } of rows) await sql`DROP DATABASE IF EXISTS ${sql(datname)} WITH (FORCE)`;
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
}
