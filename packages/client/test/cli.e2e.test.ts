// The `tollgate` CLI end to end, as a real subprocess (tsx src/cli/main.ts) against a running gateway +
// Pixelbyte simulator + Postgres: create a tenant, top up "12.50", submit, wait, usage report.
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../api/src/router.ts';
import { CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

type Result = { code: number; stdout: string; stderr: string };

async function tollgate(args: string[], env: Record<string, string>): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [tsxCli, 'src/cli/main.ts', ...args], {
      cwd: pkg,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let h: Harness;
let admin: Record<string, string>;
beforeAll(async () => {
  h = await startHarness();
  admin = { TOLLGATE_URL: h.url, TOLLGATE_TOKEN: await h.token({ role: 'admin', sub: 'cli-e2e' }) };
});
afterAll(async () => {
  await h?.close();
});

const hasFinanceUsage = 'finance.usage' in appRouter._def.procedures;

describe('tollgate CLI against a running gateway', () => {
  let tenantId = '';
  let tenantEnv: Record<string, string> = {};
  let jobId = '';
  let upstreamJobId = '';

  it('creates a tenant', async () => {
    const r = await tollgate(['tenants', 'create', 'CLI Co', '--json'], admin);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const tenant = JSON.parse(r.stdout) as { id: string; name: string; status: string };
    expect(tenant).toMatchObject({ name: 'CLI Co', status: 'active' });
    expect(tenant.id).toMatch(/^ten_/);
    tenantId = tenant.id;
  });

  it('tops up "12.50" exactly, once even when the command is repeated', async () => {
    const first = await tollgate(['credits', 'topup', tenantId, '12.50', '--reference', 'INV-1'], admin);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^added \\$12\\.50 — ${tenantId} now has \\$12\\.50 available \\(txn_`),
    );
    const again = await tollgate(
      ['credits', 'topup', tenantId, '12.50', '--reference', 'INV-1', '--json'],
      admin,
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ replayed: true, availableMicroCents: 12_500_000 });
  });

  it('issues a tenant token and submits a job with it', async () => {
    const issued = await tollgate(['token', 'issue', tenantId, '--json'], admin);
    expect(issued.code).toBe(0);
    const { token } = JSON.parse(issued.stdout) as { token: string };
    tenantEnv = { TOLLGATE_URL: h.url, TOLLGATE_TOKEN: token };

    const r = await tollgate(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a red fox', '--json'],
      tenantEnv,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout) as {
      id: string;
      status: string;
      costMicroCents: number;
      upstreamJobId: string;
    };
    expect(job).toMatchObject({ status: 'pending', costMicroCents: CHEAP_PRICE });
    jobId = job.id;
    upstreamJobId = job.upstreamJobId;
  });

  it('waits for the job with progress on stderr and the final job on stdout', async () => {
    // Streamed, so the job is moved forward only once the CLI has shown it pending (no sleeps).
    const child = spawn(
      process.execPath,
      [tsxCli, 'src/cli/main.ts', 'jobs', 'wait', jobId, '--interval', '100'],
      {
        cwd: pkg,
        env: { PATH: process.env.PATH ?? '', ...tenantEnv },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line; stderr: ${stderr}`)), 30_000);
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes(`${jobId} pending`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await h.sim.control.advance(upstreamJobId, 'processing');
    await h.sim.control.advance(upstreamJobId, 'completed');
    const r = { code: await exited, stdout, stderr };
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${jobId} pending`);
    expect(r.stderr).toContain(`${jobId} completed`);
    expect(r.stdout).toMatch(/^ID\s+job_/m);
    expect(r.stdout).toMatch(/^STATUS\s+completed$/m);
    expect(r.stdout).toMatch(/^COST \(USD\)\s+\$0\.04$/m);
  });

  it('lists the charged job, and refuses a quote above --max-cost with exit 6', async () => {
    const list = await tollgate(['jobs', 'list'], tenantEnv);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${jobId}\\s+${CHEAP_MODEL.replace(/[./]/g, '\\$&')}\\s+completed\\s+\\$0\\.04`, 'm'),
    );
    const pricey = await tollgate(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=x', '--max-cost', '0.039999'],
      tenantEnv,
    );
    expect(pricey.code).toBe(6);
    expect(pricey.stderr).toContain('reason: MAX_COST_EXCEEDED');
    expect(pricey.stdout).toBe('');
  });

  it('maps errors to exit codes: auth 3, not found 4', async () => {
    const noAdmin = await tollgate(['tenants', 'create', 'nope'], tenantEnv);
    expect(noAdmin.code).toBe(3);
    expect(noAdmin.stderr).toContain('reason: WRONG_ROLE');
    const missing = await tollgate(['jobs', 'get', 'job_missing', '--json'], tenantEnv);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'NOT_FOUND' }, exitCode: 4 });
  });

  it.skipIf(!hasFinanceUsage)('usage report shows the charge (finance.usage)', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const r = await tollgate(
      ['reports', 'usage', '--from', day, '--to', tomorrow, '--group-by', 'tenant', '--json'],
      admin,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = await tollgate(
      ['reports', 'usage', '--from', day, '--to', tomorrow, '--group-by', 'tenant'],
      admin,
    );
    expect(text.stdout).toMatch(new RegExp(`^${tenantId}\\s.*\\$0\\.04`, 'm'));
  });
});
