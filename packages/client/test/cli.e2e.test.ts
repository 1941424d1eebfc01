// The `tollgate` CLI end to end, as a real subprocess (the bin, bin/tollgate.mjs: the built JavaScript) against a running gateway +
// Pixelbyte simulator + Postgres: create a tenant, top up "12.50", submit, wait, usage report.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';

const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'bin/tollgate.mjs');

type Result = { code: number; stdout: string; stderr: string };

async function tollgate(args: string[], env: Record<string, string>): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
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
let tmp = '';
beforeAll(async () => {
  h = await startHarness();
  admin = { TOLLGATE_URL: h.url, TOLLGATE_TOKEN: await h.token({ role: 'admin', sub: 'cli-e2e' }) };
  tmp = await mkdtemp(join(tmpdir(), 'tollgate-cli-e2e-'));
});
afterAll(async () => {
  await h?.close();
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

/** UTC days around now: the job was created "today" on the DB clock, whatever the hour. */
const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

// Each step spawns the CLI 1–3 times; on 2 shared cores one spawn can take a second or more.
describe('tollgate CLI against a running gateway', { timeout: 120_000 }, () => {
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
    const child = spawn(process.execPath, [bin, 'jobs', 'wait', jobId, '--interval', '100'], {
      cwd: pkg,
      env: { PATH: process.env.PATH ?? '', ...tenantEnv },
    });
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

  it('usage report shows the charge to the micro-cent: table, --json, and --csv > file', async () => {
    // This file's database holds one tenant and one charged job ($0.04, list price: no markup, so
    // Pixelbyte's cost equals the charge and the margin is zero); the refused --max-cost submit
    // created nothing.
    const period = ['--from', day(-1), '--to', day(1), '--group-by', 'tenant'];
    const exact = {
      tenantId,
      tenantName: 'CLI Co',
      model: null,
      day: null,
      tag: null,
      jobs: 1,
      completedJobs: 1,
      failedJobs: 0,
      cancelledJobs: 0,
      rejectedJobs: 0,
      inFlightJobs: 0,
      chargedMicroCents: CHEAP_PRICE,
      refundedMicroCents: 0,
      netMicroCents: CHEAP_PRICE,
      upstreamCostMicroCents: CHEAP_PRICE,
      marginMicroCents: 0,
      // Every money total also as an exact decimal string (a number field is null past 2^53 − 1).
      chargedMicroCentsExact: String(CHEAP_PRICE),
      refundedMicroCentsExact: '0',
      netMicroCentsExact: String(CHEAP_PRICE),
      upstreamCostMicroCentsExact: String(CHEAP_PRICE),
      marginMicroCentsExact: '0',
      upstreamCostUnknownJobs: 0,
      upstreamCostUnknownChargedMicroCents: 0,
      upstreamCostUnknownChargedMicroCentsExact: '0',
      marginIncludesUpstreamCostUnknown: false,
    };

    const json = await tollgate(['reports', 'usage', ...period, '--json'], admin);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { groupBy: string[]; rows: unknown[]; totals: unknown };
    expect(report.groupBy).toEqual(['tenant']);
    expect(report.rows).toEqual([exact]);
    expect(report.totals).toEqual({ ...exact, tenantId: null, tenantName: null });

    const text = await tollgate(['reports', 'usage', ...period], admin);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^TENANT ID\s+TENANT NAME\s+JOBS\s+COMPLETED JOBS\s+FAILED JOBS\s+CANCELLED JOBS\s+CHARGED \(USD\)\s+REFUNDED \(USD\)\s+NET \(USD\)\s+UPSTREAM COST \(USD\)\s+MARGIN \(USD\)$/m,
    );
    expect(text.stdout).toMatch(
      new RegExp(
        `^${tenantId}\\s+CLI Co\\s+1\\s+1\\s+0\\s+0\\s+\\$0\\.04\\s+\\$0\\.00\\s+\\$0\\.04\\s+\\$0\\.04\\s+\\$0\\.00$`,
        'm',
      ),
    );
    expect(text.stdout).toMatch(/^USAGE \d{4}-\d\d-\d\dT00:00:00\.000Z to \d{4}-\d\d-\d\dT00:00:00\.000Z$/m);
    expect(text.stdout).toMatch(/^TOTALS$/m);
    expect(text.stdout).toMatch(/^NET \(USD\)\s+\$0\.04$/m);

    // A shell redirect, as people use it; then the file is parsed back as CSV.
    const file = join(tmp, 'usage.csv');
    const args = ['reports', 'usage', ...period, '--csv'];
    const redirected = await run(
      'sh',
      ['-c', 'out="$1"; shift; "$@" > "$out"', 'sh', file, process.execPath, bin, ...args],
      { cwd: pkg, env: { PATH: process.env.PATH ?? '', ...admin }, timeout: 60_000 },
    );
    expect(redirected.stderr).toBe('');
    const rows = parse(await readFile(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toEqual([
      {
        tenant_id: tenantId,
        tenant_name: 'CLI Co',
        jobs: '1',
        completed_jobs: '1',
        failed_jobs: '0',
        cancelled_jobs: '0',
        rejected_jobs: '0',
        in_flight_jobs: '0',
        charged_micro_cents: String(CHEAP_PRICE),
        charged_usd: '0.04',
        refunded_micro_cents: '0',
        refunded_usd: '0.00',
        net_micro_cents: String(CHEAP_PRICE),
        net_usd: '0.04',
        upstream_cost_micro_cents: String(CHEAP_PRICE),
        upstream_cost_usd: '0.04',
        margin_micro_cents: '0',
        margin_usd: '0.00',
        upstream_cost_unknown_jobs: '0',
        upstream_cost_unknown_charged_micro_cents: '0',
        upstream_cost_unknown_charged_usd: '0.00',
      },
    ]);
  });

  it('reconcile is clean: exit 0', async () => {
    const r = await tollgate(['reconcile'], admin);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: balances equal the ledger/);
  });
  it('Ctrl-C while waiting: no stack trace, says the job runs on, its charge and how to resume; exit 8', async () => {
    // Last in this file: the job it submits stays pending (the simulator does not advance it).
    const child = spawn(
      process.execPath,
      [bin, 'jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a slow fox', '--wait', '--interval', '100'],
      { cwd: pkg, env: { PATH: process.env.PATH ?? '', ...tenantEnv } },
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
        if (/ pending \(ETA [^)]+\)\n/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(8);
    const id = /(job_[a-z0-9]+) pending/.exec(stderr)?.[1] ?? '';
    expect(id).not.toBe('');
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `stopped waiting (interrupted); job ${id} is still pending; charged $0.04 (refunded automatically if it fails or is cancelled)\nresume: tollgate jobs wait ${id}\n`,
    );
    expect(stderr).not.toMatch(/^\s+at /m);

    // --timeout is the same outcome; --json puts it in the error document.
    const timedOut = await tollgate(
      ['jobs', 'wait', id, '--timeout', '1', '--interval', '100', '--json'],
      tenantEnv,
    );
    expect(timedOut.code).toBe(8);
    expect(timedOut.stdout).toBe('');
    const doc = JSON.parse(timedOut.stderr.slice(timedOut.stderr.indexOf('{')));
    expect(doc).toEqual({
      error: {
        code: 'STILL_RUNNING',
        message: `stopped waiting (--timeout reached); job ${id} is still pending`,
        jobId: id,
        status: 'pending',
        costMicroCents: CHEAP_PRICE,
        resume: `tollgate jobs wait ${id}`,
      },
      exitCode: 8,
    });
  });
});
