// `tollgate keys …` and `tollgate operators …` against a real gateway + Postgres, and the bootstrap
// (`operators create` with DATABASE_URL and no token) on an EMPTY database, as a real subprocess of
// the `tollgate` bin, whose key then works on a gateway started on that database.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createDb } from '@tollgate/db/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createJwtVerifier } from '../../api/src/auth/jwt.ts';
import { hashKey } from '../../api/src/auth/keys.ts';
import { buildDeps, startGateway } from '../../api/src/gateway.ts';
import { createLogger } from '../../api/src/logger.ts';
import {
  AUDIENCE,
  type Harness,
  ISSUER,
  JWT_SECRET,
  makeClient,
  startHarness,
} from '../../api/test/harness.ts';
import { runCli } from '../src/cli/run.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));

let h: Harness;
let adminToken = '';
beforeAll(async () => {
  h = await startHarness();
  adminToken = await h.token({ role: 'admin', sub: 'cli-keys-e2e' });
});
afterAll(async () => {
  await h?.close();
});

type Run = { code: number; stdout: string; stderr: string };

async function tollgate(args: string[], env: { token?: string; databaseUrl?: string }): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    env: { url: h.url, token: env.token, databaseUrl: env.databaseUrl },
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('tollgate keys', () => {
  it('an admin creates a key for a tenant (printed once); the tenant lists and revokes its keys with it', async () => {
    const tenant = await h.admin.admin.tenants.create.mutate({ name: 'cli keys' });
    const created = await tollgate(['keys', 'create', 'backend', '--tenant', tenant.id], {
      token: adminToken,
    });
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key, 'plain output is the key alone, for $(…)').toMatch(/^tg_live_[0-9A-Za-z]{40}$/);
    expect(created.stderr).toContain('only time the key is shown');
    expect(created.stderr).toContain(key.slice(0, 12));

    const test = await tollgate(
      ['keys', 'create', 'ci', '--mode', 'test', '--expires-at', '2099-01-01', '--json'],
      {
        token: key,
      },
    );
    expect(test.code, test.stderr).toBe(0);
    const testKey = JSON.parse(test.stdout) as { id: string; key: string; mode: string; expiresAt: string };
    expect(testKey).toMatchObject({ mode: 'test', expiresAt: '2099-01-01T00:00:00.000Z' });

    const listed = await tollgate(['keys', 'list'], { token: key });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+MODE\s+PREFIX/);
    expect(listed.stdout).toContain('ci');
    expect(listed.stdout).not.toContain(testKey.key.slice(12));

    const revoked = await tollgate(['keys', 'revoke', testKey.id], { token: key });
    expect(revoked.code, revoked.stderr).toBe(0);
    const refused = await tollgate(['keys', 'list'], { token: testKey.key });
    expect(refused.code, 'exit code 3: auth').toBe(3);
    expect(refused.stderr).toContain('INVALID_CREDENTIALS');

    const adminList = await tollgate(['keys', 'list', '--tenant', tenant.id, '--active', '--json'], {
      token: adminToken,
    });
    expect((JSON.parse(adminList.stdout) as { items: { name: string }[] }).items.map((k) => k.name)).toEqual([
      'backend',
    ]);
    expect((await tollgate(['keys', 'revoke', testKey.id, '--admin'], { token: adminToken })).code).toBe(0);
  });

  it('operators create|list|revoke through the gateway', async () => {
    const created = await tollgate(
      ['operators', 'create', '--role', 'finance', '--name', 'month-end', '--json'],
      {
        token: adminToken,
      },
    );
    expect(created.code, created.stderr).toBe(0);
    const op = JSON.parse(created.stdout) as { id: string; key: string; role: string };
    expect(op.key).toMatch(/^tg_op_/);
    const listed = await tollgate(['operators', 'list'], { token: adminToken });
    expect(listed.stdout).toContain('month-end');
    expect(listed.stdout).not.toContain(op.key.slice(12));
    const noRole = await tollgate(['operators', 'create', '--name', 'x'], { token: adminToken });
    expect([noRole.code, noRole.stderr]).toEqual([2, expect.stringContaining('--role is required')]);
    expect((await tollgate(['operators', 'revoke', op.id], { token: adminToken })).code).toBe(0);
    const after = await tollgate(['operators', 'list', '--json'], { token: op.key });
    expect(after.code).toBe(3);
  });
});

describe('bootstrap: pnpm tollgate operators create --role admin --name <who> with only DATABASE_URL', () => {
  const admin = inject('tollgateDbAdminUrl');
  const name = `tollgate_bootstrap_${randomBytes(5).toString('hex')}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const server = createDb(admin, { max: 1 });
    await server.sql`CREATE DATABASE ${server.sql(name)}`;
    closers.push(async () => {
      await server.sql`DROP DATABASE IF EXISTS ${server.sql(name)} WITH (FORCE)`;
      await server.close();
    });
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('migrates the empty database, prints the key once, and that key administers a gateway on it', {
    timeout: 120_000,
  }, async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, 'operators', 'create', '--role', 'admin', '--name', 'first admin'],
      { env: { PATH: process.env.PATH ?? '', DATABASE_URL: url.toString() }, timeout: 90_000 },
    );
    const key = stdout.trim();
    expect(key, stderr).toMatch(/^tg_op_[0-9A-Za-z]{40}$/);
    expect(stderr).toContain('first admin');

    const { db, sql, close } = createDb(url.toString(), { max: 2 });
    closers.push(close);
    const [row] = await sql`SELECT id, name, role::text AS role, key_hash, created_by FROM operator_keys`;
    expect(row).toMatchObject({
      name: 'first admin',
      role: 'admin',
      key_hash: hashKey(key),
      created_by: 'system:bootstrap',
    });
    const audit = await sql`SELECT actor, action, target_id FROM audit_log`;
    expect(audit).toEqual([{ actor: 'system:bootstrap', action: 'operator_key.create', target_id: row?.id }]);

    const gateway = await startGateway({
      deps: buildDeps({
        config: { ...h.gateway.deps.config },
        db,
        pixelbyte: h.pixelbyte,
        auth: createJwtVerifier({ secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE }),
        log: createLogger({ level: 'silent' }),
        defaultMetrics: false,
      }),
      port: 0,
      host: '127.0.0.1',
      workers: {
        poll: { intervalMs: 1_000, concurrency: 1, batchSize: 1 },
        unknownResolverIntervalMs: 1_000,
        autoStart: false,
      },
    });
    closers.push(() => gateway.close({ timeoutMs: 2_000 }));
    const tenant = await makeClient(gateway.url, key).admin.tenants.create.mutate({ name: 'first tenant' });
    expect(tenant.id).toMatch(/^ten_/);
    const [made] = await sql`SELECT actor, actor_name FROM audit_log WHERE target_id = ${tenant.id}`;
    expect(made).toEqual({ actor: row?.id, actor_name: 'first admin' });
  });
});
