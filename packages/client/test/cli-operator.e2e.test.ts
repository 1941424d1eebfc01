// The admin and finance command groups of the CLI, and the tenant's catalogue commands, against a
// real gateway + Pixelbyte simulator + Postgres, through `runCli` in this process (the bin itself is
// covered by cli.e2e.test.ts): tenants update / rotate-webhook-secret, audit list, jobs list --admin /
// jobs resolve, prices list / upsert, finance usage / balances / ledger (+ CSV), models get, quote.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { updateTenant } from '@tollgate/db/ledger';
import { defaultCatalogue, priceRuleToJson } from '@tollgate/pricing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_MODEL, type Harness, startHarness } from '../../api/test/harness.ts';
import { runCli } from '../src/cli/run.ts';

let h: Harness;
let admin = '';
let finance = '';
beforeAll(async () => {
  // A 400 ms submit deadline, so a hung upstream submit leaves a job `unknown` (for jobs resolve).
  h = await startHarness({ submitTimeoutMs: 400 });
  admin = await h.token({ role: 'admin', sub: 'cli-operator-e2e' });
  finance = await h.token({ role: 'finance', sub: 'cli-finance-e2e' });
});
afterAll(async () => {
  await h?.close();
});

type Run = { code: number; stdout: string; stderr: string };

async function tollgate(args: string[], token: string = admin): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    env: { url: h.url, token },
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function json<T>(args: string[], token?: string): Promise<T> {
  const r = await tollgate([...args, '--json'], token);
  expect(r.stderr, `stderr of ${args.join(' ')}`).toBe('');
  expect(r.code, `exit code of ${args.join(' ')}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function tenant(name: string, usd = '1') {
  const t = await json<{ id: string; webhookSecret: string }>(['tenants', 'create', name]);
  await json(['credits', 'topup', t.id, usd, '--reference', `seed-${t.id}`]);
  const { token } = await json<{ token: string }>(['token', 'issue', t.id]);
  return { ...t, token };
}

describe('tenants update and rotate-webhook-secret', () => {
  it('updates name, markup and limits (none = unlimited), audited with the tenant name', async () => {
    const t = await tenant(`Upd ${Date.now()}`);
    const updated = await json<{ name: string; markupBps: number; limits: Record<string, unknown> }>([
      'tenants',
      'update',
      t.id,
      '--name',
      'Renamed Co',
      '--markup-bps',
      '1500',
      '--daily-spend-limit',
      '25.50',
      '--max-concurrent-jobs',
      '4',
    ]);
    expect(updated).toMatchObject({
      name: 'Renamed Co',
      markupBps: 1500,
      limits: { dailySpendLimitMicroCents: 25_500_000, maxConcurrentJobs: 4 },
    });
    const cleared = await tollgate(['tenants', 'update', t.id, '--max-concurrent-jobs', 'none']);
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toMatch(/^LIMITS MAX CONCURRENT JOBS\s+-$/m);
    expect(cleared.stdout).toMatch(/^LIMITS DAILY SPEND LIMIT \(USD\)\s+\$25\.50$/m);

    const nothing = await tollgate(['tenants', 'update', t.id]);
    expect([nothing.code, nothing.stdout]).toEqual([2, '']);
    expect(nothing.stderr).toContain('nothing to update');

    const audit = await tollgate(['audit', 'list', '--target-id', t.id]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(
      /^CREATED AT\s+ACTOR\s+ACTOR NAME\s+ACTION\s+TARGET TYPE\s+TARGET ID\s+TARGET$/m,
    );
    expect(audit.stdout).toMatch(
      new RegExp(`cli-operator-e2e\\s+-\\s+tenant\\.update\\s+tenant\\s+${t.id}\\s+Renamed Co`),
    );
    const page = await json<{ items: { action: string }[] }>(['audit', 'list', '--target-id', t.id]);
    expect(page.items.map((a) => a.action)).toEqual([
      'tenant.update',
      'tenant.update',
      'tenant.issue_token',
      'credits.top_up',
      'tenant.create',
    ]);
  });

  it('rotates the webhook secret: a new whsec_ value, shown once, different from the first', async () => {
    const t = await tenant(`Rot ${Date.now()}`);
    expect(t.webhookSecret).toMatch(/^whsec_/);
    const r = await tollgate(['tenants', 'rotate-webhook-secret', t.id]);
    expect(r.code).toBe(0);
    const secret = /^WEBHOOK SECRET\s+(whsec_\S+)$/m.exec(r.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(t.webhookSecret);
    const got = await json<{ webhookSecret: string }>(['tenants', 'get', t.id]);
    expect(got.webhookSecret).toBe(secret);
  });
});

describe('jobs list --admin and jobs resolve', () => {
  it('lists the stuck job with its tenant name and refunds it by decision; a second decision is exit 5', async () => {
    const t = await tenant(`Stuck Co ${Date.now()}`);
    h.sim.control.hangNextSubmits(1);
    const job = await json<{ id: string; status: string }>(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a fox'],
      t.token,
    );
    expect(job.status).toBe('unknown');

    const tenantOnly = await tollgate(['jobs', 'list', '--stuck'], t.token);
    expect(tenantOnly.code).toBe(2);
    expect(tenantOnly.stderr).toContain('--stuck needs --admin');

    const stuck = await tollgate(['jobs', 'list', '--admin', '--stuck', '--tenant', t.id]);
    expect(stuck.code).toBe(0);
    expect(stuck.stdout).toMatch(/^ID\s+TENANT\s+MODEL\s+STATUS\s+COST \(USD\)/);
    expect(stuck.stdout).toMatch(
      new RegExp(`^${job.id}\\s+Stuck Co \\d+\\s+${CHEAP_MODEL}\\s+unknown\\s`, 'm'),
    );

    const resolved = await json<{ status: string }>([
      'jobs',
      'resolve',
      job.id,
      '--decision',
      'refund',
      '--reason',
      'never reached Pixelbyte',
    ]);
    expect(resolved.status).toBe('rejected');
    const again = await tollgate(['jobs', 'resolve', job.id, '--decision', 'charge', '--reason', 'oops']);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('reason: JOB_ALREADY_SETTLED');
    const bad = await tollgate(['jobs', 'resolve', job.id, '--decision', 'maybe', '--reason', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--decision must be one of charge, refund');
    expect((await json<{ availableMicroCents: number }>(['tenants', 'get', t.id])).availableMicroCents).toBe(
      1_000_000,
    );
  });
});

describe('prices list and upsert', () => {
  it('upserts a rule from a file for a future date, lists it (not yet in force), replays the same', async () => {
    const base = defaultCatalogue.get(CHEAP_MODEL);
    if (!base) throw new Error('cheap model missing');
    const file = join(tmpdir(), `tollgate-rule-${process.pid}.json`);
    await writeFile(
      file,
      JSON.stringify({ ...priceRuleToJson(base), baseCostMicroCents: '45000', priceVersion: 'cli-v2' }),
    );
    const args = ['prices', 'upsert', '--rule', `@${file}`, '--effective-from', '2099-01-01'];
    const saved = await json<{ id: string; inForce: boolean; replayed: boolean }>(args);
    expect(saved).toMatchObject({ inForce: false, replayed: false });
    const replay = await tollgate(args);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^already saved/);
    const listed = await tollgate(['prices', 'list', '--model', CHEAP_MODEL]);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${saved.id}\\s+${CHEAP_MODEL}\\s+cli-v2\\s+2099-01-01T00:00:00\\.000Z\\s+false\\s+cli-operator-e2e$`,
        'm',
      ),
    );
    const notJson = await tollgate(['prices', 'upsert', '--rule', '{', '--effective-from', '2099-01-01']);
    expect(notJson.code).toBe(2);
  });
});

describe('finance: usage (this month by default), balances, ledger and its CSV', () => {
  it('shows tenant names in rows, exact amounts, and the same lines as CSV', async () => {
    const t = await tenant(`Ledger Co ${Date.now()}`, '2.50');
    // Job completes upstream at once; the gateway learns it through the poller's next tick.
    const job = await json<{ id: string; upstreamJobId: string }>(
      ['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a fox'],
      t.token,
    );
    await h.sim.control.advance(job.upstreamJobId, 'completed');

    // No --from/--to: the current UTC month, which holds the job just charged.
    const usage = await tollgate(['finance', 'usage', '--group-by', 'tenant'], finance);
    expect(usage.code).toBe(0);
    const month = new Date().toISOString().slice(0, 7);
    expect(usage.stdout).toMatch(
      new RegExp(`^USAGE ${month}-01T00:00:00\\.000Z to \\d{4}-\\d\\d-01T00:00:00\\.000Z$`, 'm'),
    );
    expect(usage.stdout).toMatch(/^TENANT ID\s+TENANT NAME\s+JOBS\s+COMPLETED JOBS/m);
    expect(usage.stdout).toMatch(
      new RegExp(`^${t.id}\\s+Ledger Co \\d+\\s+1\\s+\\d\\s+0\\s+0\\s+\\$0\\.04\\s`, 'm'),
    );
    const alias = await json<{ from: string }>(['reports', 'usage', '--group-by', 'tenant'], finance);
    expect(alias.from).toBe(`${month}-01T00:00:00.000Z`);

    const balances = await tollgate(['finance', 'balances'], finance);
    expect(balances.code).toBe(0);
    expect(balances.stdout).toMatch(
      new RegExp(`^${t.id}\\s+Ledger Co \\d+\\s+active\\s+\\$2\\.46\\s+\\$0\\.00$`, 'm'),
    );
    expect(balances.stdout).toContain('balanced: tenants + platform accounts sum to zero');

    const ledger = await tollgate(['finance', 'ledger', '--tenant', t.id], finance);
    expect(ledger.code).toBe(0);
    expect(ledger.stdout).toMatch(/\stop_up\s+tenant_available\s+Ledger Co \d+\s+\$2\.50\s+\$2\.50\s/m);
    const lines = await json<{ items: { amountMicroCents: number; tenantId: string | null }[] }>(
      ['finance', 'ledger', '--tenant', t.id],
      finance,
    );
    const csvRun = await tollgate(['finance', 'ledger', '--tenant', t.id, '--csv'], finance);
    expect([csvRun.code, csvRun.stderr]).toEqual([0, '']);
    const rows = parse(csvRun.stdout, { columns: true }) as Record<string, string>[];
    // The same lines (the CSV runs oldest first, the tRPC page newest first).
    const amounts = (xs: number[]) => [...xs].sort((a, b) => a - b);
    expect(amounts(rows.map((r) => Number(r.amount_micro_cents)))).toEqual(
      amounts(lines.items.map((l) => l.amountMicroCents)),
    );
    expect(rows.map((r) => r.amount_micro_cents)).toContain('2500000');

    const tenantTries = await tollgate(['finance', 'balances'], t.token);
    expect(tenantTries.code).toBe(3);
  });
});

describe('models get and quote (tenant)', () => {
  it('shows parameters with types, allowed values, defaults and price factors; suggests a mistyped model', async () => {
    const t = await tenant(`Cat ${Date.now()}`);
    const veo = 'google/veo-3.1-fast/text-to-video';
    const r = await tollgate(['models', 'get', veo], t.token);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^BASE COST\s+\$0\.20 per second \(200000 micro-cents\)$/m);
    expect(r.stdout).toMatch(/^NAME\s+TYPE\s+REQUIRED\s+DEFAULT\s+ALLOWED\s+PRICE\s+DESCRIPTION$/m);
    expect(r.stdout).toMatch(/^prompt\s+string\s+yes\s+-\s+1\.\.5000 chars\s+free\s/m);
    expect(r.stdout).toMatch(/^duration\s+integer\s+no\s+8\s+4, 6, 8\s+× the value \(per second\)\s/m);
    expect(r.stdout).toMatch(
      /^resolution\s+string\s+no\s+720p\s+720p, 1080p, 4k\s+720p ×1, 1080p ×1, 4k ×1\.5\s/m,
    );
    const got = await json<{ priceFactors: Record<string, unknown> }>(['models', 'get', veo], t.token);
    expect(got.priceFactors.duration).toEqual({ quantity: true });

    const typo = await tollgate(['models', 'get', 'google/veo-3.1-fast/text-to-vide'], t.token);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean `google/veo-3.1-fast/text-to-video`?');
    const quoteTypo = await tollgate(['quote', 'google/nano-banan', '--param', 'prompt=x'], t.token);
    expect(quoteTypo.code).toBe(2);
    expect(quoteTypo.stderr).toContain('reason: UNKNOWN_MODEL');
    expect(quoteTypo.stderr).toContain('did you mean `google/nano-banana`?');

    const q = await tollgate(['quote', veo, '--param', 'prompt=x', '--param', 'resolution=4k'], t.token);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^COST \(USD\)\s+\$3\.60$/m);
    expect(q.stdout).toMatch(
      /^base\s+Veo 3\.1 Fast text-to-video\s+\$0\.20 per second \(200000 micro-cents\)$/m,
    );
    expect(q.stdout).toMatch(/^duration\s+8\s+× 8$/m);
    expect(q.stdout).toMatch(/^resolution\s+4k\s+× 1\.5$/m);
  });
});

describe('account reset-test-balance (test mode)', () => {
  it('puts a test key’s balance back to $100.00; a live credential is refused with exit 3', async () => {
    const t = await tenant(`Sandbox ${Date.now()}`);
    const { key } = await h.admin.admin.keys.create.mutate({ tenantId: t.id, name: 'ci', mode: 'test' });
    expect(key).toMatch(/^tg_test_/);
    await json(['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a test fox'], key);
    const before = await json<{ account: { availableMicroCents: number } }>(['account'], key);
    expect(before.account.availableMicroCents).toBe(100_000_000 - 40_000);
    const r = await tollgate(['account', 'reset-test-balance'], key);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^test balance reset to \$100\.00$/m);
    const live = await tollgate(['account', 'reset-test-balance'], t.token);
    expect(live.code).toBe(3);
    expect(live.stderr).toContain('reason: TEST_MODE_ONLY');

    // Free test credit (--mode test) lands in the sandbox only; the books are read per --mode.
    const credit = await tollgate([
      'credits',
      'topup',
      t.id,
      '5',
      '--reference',
      'sandbox-1',
      '--mode',
      'test',
    ]);
    expect(credit.code).toBe(0);
    expect(credit.stdout).toMatch(/^added \$5\.00 of test credit — /);
    expect(
      (await json<{ account: { availableMicroCents: number } }>(['account'], key)).account,
    ).toMatchObject({
      availableMicroCents: 105_000_000,
    });
    expect((await json<{ availableMicroCents: number }>(['tenants', 'get', t.id])).availableMicroCents).toBe(
      1_000_000,
    );
    const testBook = await json<{ tenants: { tenantId: string; availableMicroCents: number }[] }>(
      ['finance', 'balances', '--mode', 'test'],
      finance,
    );
    expect(testBook.tenants.find((x) => x.tenantId === t.id)?.availableMicroCents).toBe(105_000_000);
    const testLedger = await tollgate(
      ['finance', 'ledger', '--mode', 'test', '--tenant', t.id, '--csv'],
      finance,
    );
    expect(testLedger.code).toBe(0);
    const testRows = parse(testLedger.stdout, { columns: true }) as Record<string, string>[];
    expect(testRows.map((r) => r.reference)).toContain('sandbox-1');
    const liveLedger = await tollgate(['finance', 'ledger', '--tenant', t.id, '--csv'], finance);
    expect(
      (parse(liveLedger.stdout, { columns: true }) as Record<string, string>[]).map((r) => r.reference),
    ).not.toContain('sandbox-1');
    const bad = await tollgate(['finance', 'balances', '--mode', 'sandbox'], finance);
    expect(bad.code).toBe(2);
  });
});

describe('webhooks deliveries and redeliver (tenant), tenants low-balance threshold, rotation grace', () => {
  it('lists the balance.low delivery a submit caused, redelivers it; another tenant’s is not found', async () => {
    const t = await tenant(`Hooked ${Date.now()}`);
    const set = await tollgate(['tenants', 'update', t.id, '--low-balance-threshold', '0.99']);
    expect(set.code).toBe(0);
    // A receiver URL straight in the database (admin URLs must be public https); nothing listens:
    // no delivery worker runs in this harness, so the delivery stays pending.
    await updateTenant(h.db.db, { tenantId: t.id, webhookUrl: 'http://127.0.0.1:9/hook', actor: 'test' });
    await json(['jobs', 'submit', CHEAP_MODEL, '--param', 'prompt=a fox'], t.token); // $1.00 → $0.96 < $0.99

    const page = await json<{ items: { id: string; type: string; status: string }[] }>(
      ['webhooks', 'deliveries', '--type', 'balance.low'],
      t.token,
    );
    expect(page.items).toMatchObject([{ type: 'balance.low', status: 'pending' }]);
    const id = page.items[0]?.id ?? '';
    const text = await tollgate(['webhooks', 'deliveries'], t.token);
    expect(text.stdout).toMatch(/^ID\s+TYPE\s+JOB ID\s+STATUS\s+ATTEMPTS/);
    expect(text.stdout).toMatch(new RegExp(`^${id}\\s+balance\\.low\\s+-\\s+pending\\s`, 'm'));

    const again = await tollgate(['webhooks', 'redeliver', id], t.token);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^ID\\s+${id}$`, 'm'));
    const other = await tenant(`Other ${Date.now()}`);
    const notYours = await tollgate(['webhooks', 'redeliver', id], other.token);
    expect(notYours.code).toBe(4);
    const badType = await tollgate(['webhooks', 'deliveries', '--type', 'job.done'], t.token);
    expect(badType.code).toBe(2);
  });

  it('rotates with --grace 0: the old secret stops at once', async () => {
    const t = await tenant(`Leak ${Date.now()}`);
    const r = await json<{ webhookSecret: string; previousSecretExpiresAt: string | null }>([
      'tenants',
      'rotate-webhook-secret',
      t.id,
      '--grace',
      '0',
    ]);
    expect(r.previousSecretExpiresAt).toBeNull();
    const text = await tollgate(['tenants', 'rotate-webhook-secret', t.id]);
    expect(text.stdout).toMatch(/deliveries carry both signatures until \d{4}-/);
  });
});
