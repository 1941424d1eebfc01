// Dev mode (`pnpm start` with no configuration) across a SIGKILL: the embedded Postgres the killed
// gateway leaves running is recognised and stopped, the next start works, and the admin token the
// first start printed still works after it (the dev JWT secret is kept in DATA_DIR). Issue 23,
// items 10 and 11; item 15 (root, a data folder the `postgres` user cannot enter) below.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeClient } from '../harness.ts';
import { freePort, type GatewayProcess, startGatewayProcess } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A dev-mode gateway: no DATABASE_URL, no JWT keys, no Pixelbyte key (the simulator). */
async function startDev(dataDir: string, port: number): Promise<GatewayProcess> {
  const gw = await startGatewayProcess({
    port,
    env: { NODE_ENV: 'development', DATA_DIR: dataDir, WORKERS_ENABLED: 'false' },
    readyTimeoutMs: 120_000,
  });
  cleanups.push(() => gw.kill('SIGTERM'));
  return gw;
}

const adminTokenOf = (gw: GatewayProcess): string => {
  const token = /export TOLLGATE_ADMIN_TOKEN=(\S+)/.exec(gw.output())?.[1];
  if (!token) throw new Error(`no admin token printed:\n${gw.output().slice(-3000)}`);
  return token;
};

/** SIGKILL, start again on the same DATA_DIR, and check what survived. */
async function killAndRestart(dataDir: string) {
  const port = await freePort();
  const first = await startDev(dataDir, port);
  const token = adminTokenOf(first);
  const created = await makeClient(first.url, token).admin.tenants.create.mutate({ name: 'survives a kill' });
  await first.kill('SIGKILL');

  const second = await startDev(dataDir, port);
  const admin = makeClient(second.url, token);
  // The token printed before the kill still verifies; the tenant is still there.
  const listed = await admin.admin.tenants.list.query({});
  expect(listed.items.map((t) => t.id)).toContain(created.id);
  return { first, second };
}

describe('dev mode after kill -9', () => {
  it('the orphaned embedded Postgres is stopped and the gateway starts again; dev tokens still work', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'tollgate-dev-restart-'));
    await chmod(root, 0o755); // as root, the `postgres` user must reach the data directory
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const { second } = await killAndRestart(root);
    expect(second.output()).toMatch(
      /stopping the embedded Postgres left running on .* by a gateway that was killed/,
    );
    expect(second.output()).toContain('using the JWT secret kept from an earlier boot');
  }, 300_000);

  it.skipIf(process.getuid?.() !== 0)(
    'as root from a 0700 folder: the data directory is moved where the postgres user can reach it, said in the log, and found again',
    async () => {
      const root = await mkdtemp(path.join(tmpdir(), 'tollgate-0700-'));
      cleanups.push(() => rm(root, { recursive: true, force: true }));
      const dataDir = path.join(root, 'home', '.data');
      await mkdir(dataDir, { recursive: true });
      await chmod(path.join(root, 'home'), 0o700); // like /root
      await chmod(root, 0o755);
      const { first, second } = await killAndRestart(dataDir);
      const moved = /its data directory is (\S+) instead of/.exec(first.output())?.[1];
      try {
        expect(moved, first.output().slice(-3000)).toMatch(/^\/var\/lib\/tollgate\/postgres-[0-9a-f]{12}$/);
        expect(second.output()).toContain(`its data directory is ${moved} instead of`);
      } finally {
        // Stopped first (its Postgres uses the moved directory), then the directory removed.
        await second.kill('SIGTERM');
        if (moved) await rm(moved, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
