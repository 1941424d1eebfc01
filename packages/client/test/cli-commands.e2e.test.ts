// Every admin, finance and tenant command of the `tollgate` CLI against a real gateway + Pixelbyte
// simulator + Postgres, through `runCli` in this process (the same code path as the binary minus the
// 8-line main.ts, which cli.e2e.test.ts covers as a real subprocess): real HTTP, real exit codes,
// real stdout/stderr text and JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';
import { runCli } from '../src/cli/run.ts';

let h: Harness;
let adminToken = '';
beforeAll(async () => {
  // Jobs stay pending upstream until a test advances them (cancel needs a pending job).
  h = await startHarness({ sim: { autoAdvance: false } });
  adminToken = await h.token({ role: 'admin', sub: 'cli-commands-e2e' });
});
afterAll(async () => {
  await h?.close();
});

type Run = { code: number; stdout: string; stderr: string };

async function tollgate(args: string[], token: string = adminToken): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    env: { url: h.url, token },
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Runs a command that must succeed with --json and returns its parsed stdout. */
async function json<T>(args: string[], token?: string): Promise<T> {
  const r = await tollgate([...args, '--json'], token);
  expect(r.stderr, `stderr of ${args.join(' ')}`).toBe('');
  expect(r.code, `exit code of ${args.join(' ')}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

type Tenant = {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  markupBps: number;
  limits: { maxConcurrentJobs: number | null; dailySpendLimitMicroCents: number | null };
  availableMicroCents: number;
  heldMicroCents: number;
};

async function newTenant(name: string, topUpUsd?: string): Promise<{ id: string; token: string }> {
  const t = await json<Tenant>(['tenants', 'create', name]);
  if (topUpUsd !== undefined) {
    await json(['credits', 'topup', t.id, topUpUsd, '--reference', `seed-${t.id}`]);
  }
  const { token } = await json<{ token: string }>(['token', 'issue', t.id]);
  return { id: t.id, token };
}

describe('tenants', () => {
  it('create with limits, list (filters, table), get with balances', async () => {
    const name = `Acme ${Date.now()}`;
    const created = await json<Tenant & { webhookSecret: string }>([
      'tenants',
      'create',
      name,
      '--markup-bps',
      '2000',
      '--max-concurrent-jobs',
      '3',
      '--daily-spend-limit',
      '50.25',
    ]);
    expect(created).toMatchObject({
      name,
      status: 'active',
      markupBps: 2000,
      limits: { maxConcurrentJobs: 3, dailySpendLimitMicroCents: 50_250_000, requestsPerMinute: null },
    });
    await json(['credits', 'topup', created.id, '7.000001', '--reference', 'INV-list']);

    const page = await json<{ items: Tenant[]; nextCursor: string | null }>([
      'tenants',
      'list',
      '--name',
      name.toLowerCase(),
    ]);
    expect(page.items.map((t) => [t.id, t.availableMicroCents, t.heldMicroCents])).toEqual([
      [created.id, 7_000_001, 0],
    ]);

    const table = await tollgate(['tenants', 'list', '--name', name]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+MARKUP BPS\s+AVAILABLE \(USD\)\s+HELD \(USD\)/);
    expect(table.stdout).toMatch(
      new RegExp(`^${created.id}\\s+${name}\\s+active\\s+2000\\s+\\$7\\.000001\\s+\\$0\\.00\\s`, 'm'),
    );

    const got = await json<Tenant & { spentTodayMicroCents: number }>(['tenants', 'get', created.id]);
    expect(got).toMatchObject({
      id: created.id,
      availableMicroCents: 7_000_001,
      heldMicroCents: 0,
      spentTodayMicroCents: 0,
    });
    const text = await tollgate(['tenants', 'get', created.id]);
    expect(text.stdout).toMatch(/^AVAILABLE \(USD\)\s+\$7\.000001$/m);
    expect(text.stdout).toMatch(/^LIMITS DAILY SPEND LIMIT \(USD\)\s+\$50\.25$/m);

    const bad = await tollgate(['tenants', 'list', '--status', 'gone']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toContain('--status must be one of active, suspended');
    const missing = await tollgate(['tenants', 'get', 'ten_doesnotexist']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('reason: TENANT_NOT_FOUND');
  });

  it('suspend refuses the tenant’s token (exit 3), reactivate restores it; both audited', async () => {
    const t = await newTenant(`Suspendable ${Date.now()}`, '1');
    expect((await tollgate(['account'], t.token)).code).toBe(0);

    const suspended = await json<Tenant>(['tenants', 'suspend', t.id, '--reason', 'chargeback']);
    expect(suspended).toMatchObject({ id: t.id, status: 'suspended' });
    const refused = await tollgate(['account'], t.token);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('reason: TENANT_SUSPENDED');
    const listed = await json<{ items: Tenant[] }>(['tenants', 'list', '--status', 'suspended']);
    expect(listed.items.map((x) => x.id)).toContain(t.id);

    const text = await tollgate(['tenants', 'reactivate', t.id, '--reason', 'paid']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^STATUS\s+active$/m);
    expect((await tollgate(['account'], t.token)).code).toBe(0);

    const audit = await h.admin.admin.audit.list.query({ targetId: t.id });
    expect(audit.items.map((a) => [a.action, a.actor])).toEqual(
      expect.arrayContaining([
        ['tenant.suspend', 'cli-commands-e2e'],
        ['tenant.reactivate', 'cli-commands-e2e'],
      ]),
    );
  });
});

describe('credits', () => {
  it('adjust up and down exactly, idempotently; below zero is refused with exit 6 and changes nothing', async () => {
    const t = await newTenant(`Adjust ${Date.now()}`, '12.50');
    // Idempotent by its key only: without one, a second identical adjustment is a second adjustment.
    const key = ['--idempotency-key', `adj-4411-${t.id}`];
    const down = await tollgate(['credits', 'adjust', t.id, '-2.50', '--reason', 'ticket 4411', ...key]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(
      new RegExp(`^adjusted by -\\$2\\.50 — ${t.id} now has \\$10\\.00 available \\(txn_`),
    );
    const again = await json<{ replayed: boolean; availableMicroCents: number }>([
      'credits',
      'adjust',
      t.id,
      '-2.50',
      '--reason',
      'ticket 4411',
      ...key,
    ]);
    expect(again).toMatchObject({ replayed: true, availableMicroCents: 10_000_000 });
    const up = await json<{ replayed: boolean; availableMicroCents: number }>([
      'credits',
      'adjust',
      t.id,
      '0.000001',
      '--reason',
      'goodwill',
    ]);
    expect(up).toMatchObject({ replayed: false, availableMicroCents: 10_000_001 });

    const below = await tollgate(['credits', 'adjust', t.id, '-10.000002', '--reason', 'too much']);
    expect(below.code).toBe(6);
    expect(below.stdout).toBe('');
    expect(below.stderr).toContain('reason: ADJUSTMENT_BELOW_ZERO');
    expect(below.stderr).toContain(
      'a balance never goes below zero: $10.000001 available; nothing was changed',
    );
    const belowJson = await tollgate([
      'credits',
      'adjust',
      t.id,
      '-10.000002',
      '--reason',
      'too much',
      '--json',
    ]);
    expect(belowJson.code).toBe(6);
    expect(JSON.parse(belowJson.stderr)).toMatchObject({
      error: {
        code: 'PRECONDITION_FAILED',
        reason: 'ADJUSTMENT_BELOW_ZERO',
        details: { availableMicroCents: 10_000_001 },
      },
      exitCode: 6,
    });
    expect(await json<Tenant>(['tenants', 'get', t.id])).toMatchObject({ availableMicroCents: 10_000_001 });
    // The refused key stays usable: the whole balance can still be taken out, to exactly zero.
    const toZero = await json<{ availableMicroCents: number }>([
      'credits',
      'adjust',
      t.id,
      '-10.000001',
      '--reason',
      'close account',
    ]);
    expect(toZero.availableMicroCents).toBe(0);
  });

  it('topup run twice without a key credits once and says so', async () => {
    const t = await newTenant(`Twice ${Date.now()}`);
    const first = await tollgate(['credits', 'topup', t.id, '2.50', '--reference', 'INV-twice']);
    expect(first.stdout).toContain('added $2.50');
    const again = await tollgate(['credits', 'topup', t.id, '2.50', '--reference', 'INV-twice']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already applied');
    const viaJson = await json<{ replayed: boolean; idempotencyKey: string; availableMicroCents: number }>([
      'credits',
      'topup',
      t.id,
      '2.50',
      '--reference',
      'INV-twice',
    ]);
    expect(viaJson).toMatchObject({ replayed: true, availableMicroCents: 2_500_000 });
    expect(viaJson.idempotencyKey).toMatch(/^cli-topup-/);
  });

  it('topup refuses an unknown tenant (exit 4) and a reused key with other arguments (exit 5)', async () => {
    const missing = await tollgate(['credits', 'topup', 'ten_doesnotexist', '1', '--reference', 'x']);
    expect(missing.code).toBe(4);
    const t = await newTenant(`Keys ${Date.now()}`);
    await json(['credits', 'topup', t.id, '1', '--reference', 'a', '--idempotency-key', `k-${t.id}`]);
    const conflict = await tollgate([
      'credits',
      'topup',
      t.id,
      '2',
      '--reference',
      'a',
      '--idempotency-key',
      `k-${t.id}`,
    ]);
    expect(conflict.code).toBe(5);
    expect(conflict.stderr).toContain('reason: IDEMPOTENCY_CONFLICT');
  });
});

describe('token issue', () => {
  it('signs a working tenant token with the requested ttlSeconds and sub', async () => {
    const t = await json<Tenant>(['tenants', 'create', `Tokens ${Date.now()}`]);
    const issued = await json<{ token: string; tokenId: string; tenantId: string; expiresAt: string }>([
      'token',
      'issue',
      t.id,
      '--ttl',
      '3600',
      '--sub',
      'ci-bot',
    ]);
    expect(issued.tenantId).toBe(t.id);
    const [, payload = ''] = issued.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ role: 'tenant', tenant_id: t.id, sub: 'ci-bot', jti: issued.tokenId });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    expect(Date.parse(issued.expiresAt) / 1000).toBe(Number(claims.exp));
    const account = await json<{ account: { tenantId: string } }>(['account'], issued.token);
    expect(account.account.tenantId).toBe(t.id);

    const plain = await tollgate(['token', 'issue', t.id]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(plain.stderr).toMatch(/^expires \d{4}-\d\d-\d\dT.* \(token id /);

    const tooShort = await tollgate(['token', 'issue', t.id, '--ttl', '59']);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toContain('ttlSeconds');
  });
});

describe('tenant commands: jobs cancel, account', () => {
  it('cancels a pending job, refunds it once, and shows it in the account statement', async () => {
    const t = await newTenant(`Cancel ${Date.now()}`, '1.00');
    const job = await json<{ id: string; status: string }>(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a fox'],
      t.token,
    );
    expect(job.status).toBe('pending');

    const cancelled = await tollgate(['jobs', 'cancel', job.id], t.token);
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(/^cancelled; refunded \$0\.04$/m);
    expect(cancelled.stdout).toMatch(/^STATUS\s+cancelled$/m);
    expect(cancelled.stdout).toMatch(/^REFUNDED \(USD\)\s+\$0\.04$/m);

    const twice = await json<{ status: string; refundedMicroCents: number }>(
      ['jobs', 'cancel', job.id],
      t.token,
    );
    expect(twice).toMatchObject({ status: 'cancelled', refundedMicroCents: CHEAP_PRICE });

    const statement = await json<{
      account: { availableMicroCents: number; heldMicroCents: number; tenantId: string };
      statement: {
        items: { kind: string; account: string; amountMicroCents: number }[];
        nextCursor: string | null;
      };
    }>(['account'], t.token);
    expect(statement.account).toMatchObject({
      tenantId: t.id,
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
    });
    const availableLines = statement.statement.items
      .filter((l) => l.account === 'tenant_available')
      .map((l) => [l.kind, l.amountMicroCents]);
    expect(availableLines).toEqual([
      ['refund', CHEAP_PRICE],
      ['hold', -CHEAP_PRICE],
      ['top_up', 1_000_000],
    ]);

    const text = await tollgate(['account', '--limit', '2'], t.token);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^AVAILABLE \(USD\)\s+\$1\.00$/m);
    expect(text.stdout).toMatch(/^HELD \(USD\)\s+\$0\.00$/m);
    expect(text.stdout).toContain('STATEMENT (newest first)');
    expect(text.stdout).toMatch(/^more: --cursor \S+$/m);
  });

  it('refuses to cancel a job that is no longer pending (exit 5) or another tenant’s job (exit 4)', async () => {
    const a = await newTenant(`CancelA ${Date.now()}`, '1');
    const b = await newTenant(`CancelB ${Date.now()}`);
    const job = await json<{ id: string; upstreamJobId: string }>(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=x'],
      a.token,
    );
    const foreign = await tollgate(['jobs', 'cancel', job.id], b.token);
    expect(foreign.code).toBe(4);
    await h.sim.control.advance(job.upstreamJobId, 'completed');
    const late = await tollgate(['jobs', 'cancel', job.id], a.token);
    expect(late.code).toBe(5);
    expect(late.stderr).toContain('reason: JOB_NOT_CANCELLABLE');
    expect(late.stderr, 'no idempotency-key hint for a state refusal').not.toContain('idempotency');
    expect(await json<{ account: { availableMicroCents: number } }>(['account'], a.token)).toMatchObject({
      account: { availableMicroCents: 1_000_000 - CHEAP_PRICE },
    });
  });
});

describe('reconcile', () => {
  it('is ok (exit 0) after all of the above, with totals', async () => {
    const r = await tollgate(['reconcile']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: balances equal the ledger/);
    expect(r.stdout).toMatch(/^NET \(USD\)\s+\$\d+\.\d\d/m);
    const data = await json<{ ok: boolean; discrepancies: unknown[] }>(['reconcile']);
    expect(data).toMatchObject({ ok: true, discrepancies: [] });
  });

  it('is refused for a tenant token (exit 3)', async () => {
    const t = await newTenant(`NoAdmin ${Date.now()}`);
    const r = await tollgate(['reconcile'], t.token);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('reason: WRONG_ROLE');
  });
});
