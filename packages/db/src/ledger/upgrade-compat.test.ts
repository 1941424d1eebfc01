// Rolling deploys (docs/scaling.md, Upgrades): gateways of the previous release (commit 2598228)
// run against a database migrated by this one. Their submit calls the 16-argument tollgate_open_job
// (the hold's fingerprint built in TypeScript), dropped by migration 0021 and restored by 0022 as a
// compatibility shim over today's implementation. These calls are the previous release's, verbatim
// (packages/db/src/ledger/jobs.ts at 2598228: tryOpenJob and the tollgate_open_jobs group entry).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../ids';
import { createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { openJob, reconcile } from './index';
import { preparedRows, rows } from './internal';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

/** The previous release's canonicalJson (packages/db/src/ledger/internal.ts at 2598228), copied. */
function canonicalJson2598228(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

function tagsArray(tags: readonly string[]) {
  return sql`ARRAY(SELECT t.tag FROM jsonb_array_elements_text(${JSON.stringify(tags)}::jsonb)
    WITH ORDINALITY AS t(tag, n) ORDER BY t.n)`;
}

const QUOTE = 40_000n;
const LIST = 30_000n;
const TAGS = ['b', 'a'];
const INPUT = { prompt: 'a test', seed: 7 };

/** The previous release's OpenEntry for one job (its openEntry, with its hold fingerprint). */
function oldEntry(tenantId: string, holdFingerprint?: string) {
  const jobId = newId('job');
  return {
    jobId,
    holdId: newId('hold'),
    txnId: newId('txn'),
    tenantId,
    model: 'google/nano-banana',
    input: INPUT,
    quote: QUOTE,
    listCost: LIST,
    priceVersion: 'test',
    tags: TAGS,
    webhookUrl: null as string | null,
    idempotencyKey: null as string | null,
    fingerprint: 'fp-compat',
    maxDurationSeconds: 600,
    actor: `tenant:${tenantId}`,
    holdFingerprint: holdFingerprint ?? canonicalJson2598228({ op: 'hold', jobId, amountMicroCents: QUOTE }),
  };
}
type OldEntry = ReturnType<typeof oldEntry>;

/** tryOpenJob of 2598228: the 16-argument call, same parameters and casts. */
async function oldOpen(e: OldEntry) {
  return preparedRows<Record<string, unknown>>(
    t.db,
    sql`SELECT * FROM tollgate_open_job(
        ${e.jobId}, ${e.holdId}, ${e.txnId}, ${e.tenantId}, ${e.model},
        ${JSON.stringify(e.input)}::jsonb, ${e.quote}, ${e.listCost},
        ${e.priceVersion}, ${tagsArray(e.tags)},
        ${e.webhookUrl}, ${e.idempotencyKey}, ${e.fingerprint},
        ${e.maxDurationSeconds}::int, ${e.actor}, ${e.holdFingerprint})`,
  );
}

/** The group statement of 2598228: tollgate_open_jobs with its JSON entries (holdFingerprint included). */
async function oldOpenGrouped(entries: OldEntry[]) {
  const json = JSON.stringify(entries, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return preparedRows<Record<string, unknown>>(t.db, sql`SELECT * FROM tollgate_open_jobs(${json}::jsonb)`);
}

/** What a job's open wrote, ids replaced by their role, for comparing two opens. */
async function opened(jobId: string) {
  const [job] = await rows<Record<string, unknown>>(
    t.db,
    sql`SELECT tenant_id, status, model, input, cost_micro_cents, list_cost_micro_cents, price_version,
          tags, fingerprint, hold_id, deadline_at - created_at AS duration FROM jobs WHERE id = ${jobId}`,
  );
  const tenantId = job?.tenant_id as string;
  const [hold] = await rows<Record<string, unknown>>(
    t.db,
    sql`SELECT tenant_id, amount_micro_cents, status FROM holds WHERE job_id = ${jobId}`,
  );
  const txns = await rows<Record<string, unknown>>(
    t.db,
    sql`SELECT id, kind, hold_id, idempotency_key, request_fingerprint, actor
          FROM ledger_transactions WHERE job_id = ${jobId}`,
  );
  const lines = await rows<Record<string, unknown>>(
    t.db,
    sql`SELECT l.account, l.tenant_id, l.amount_micro_cents, l.balance_after_micro_cents
          FROM ledger_lines l JOIN ledger_transactions x ON x.id = l.transaction_id
         WHERE x.job_id = ${jobId} ORDER BY l.id`,
  );
  const [balance] = await rows<Record<string, unknown>>(
    t.db,
    sql`SELECT available_micro_cents, held_micro_cents, active_jobs, spend_today_micro_cents
          FROM tenant_balances WHERE tenant_id = ${tenantId}`,
  );
  const holdId = job?.hold_id as string;
  const roles = (v: unknown) =>
    JSON.parse(
      JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
        .replaceAll(jobId, '<job>')
        .replaceAll(holdId, '<hold>')
        .replaceAll(tenantId, '<tenant>')
        .replace(/txn_[0-9a-z]{20}/g, '<txn>'),
    ) as unknown;
  return roles({ job, hold, txns, lines, balance });
}

describe('upgrades: the previous release (2598228) opening jobs on a migrated database', () => {
  it('its 16-argument tollgate_open_job opens the job exactly as today’s openJob does', async () => {
    const before = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const today = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });

    const e = oldEntry(before.id);
    const [row] = await oldOpen(e);
    expect(row?.id).toBe(e.jobId);
    expect(row?.status).toBe('submitting');

    const now = await openJob(t.db, {
      tenantId: today.id,
      model: 'google/nano-banana',
      input: INPUT,
      quoteMicroCents: QUOTE,
      listCostMicroCents: LIST,
      priceVersion: 'test',
      fingerprint: 'fp-compat',
      tags: TAGS,
      maxDurationSeconds: 600,
    });
    if (!now.ok) throw new Error(`openJob refused: ${now.reason}`);

    const old = await opened(e.jobId);
    expect(old).toEqual(await opened(now.job.id));
    // The fingerprint the old gateway built is the one stored (and what replays compare with).
    const [txn] = await rows<{ request_fingerprint: string }>(
      t.db,
      sql`SELECT request_fingerprint FROM ledger_transactions WHERE job_id = ${e.jobId}`,
    );
    expect(txn?.request_fingerprint).toBe(e.holdFingerprint);
    expect(old).toMatchObject({
      hold: { amount_micro_cents: `${QUOTE}n`, status: 'open' },
      lines: [
        {
          account: 'tenant_available',
          amount_micro_cents: `${-QUOTE}n`,
          balance_after_micro_cents: `${1_000_000n - QUOTE}n`,
        },
        { account: 'tenant_held', amount_micro_cents: `${QUOTE}n`, balance_after_micro_cents: `${QUOTE}n` },
      ],
      balance: {
        available_micro_cents: `${1_000_000n - QUOTE}n`,
        held_micro_cents: `${QUOTE}n`,
        active_jobs: 1,
      },
    });

    const report = await reconcile(t.db);
    expect(report.discrepancies.filter((d) => d.tenantId === before.id || d.tenantId === today.id)).toEqual(
      [],
    );
  });

  it('its group entries (holdFingerprint included) open the same jobs through tollgate_open_jobs', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const single = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const group = [oldEntry(tenant.id), oldEntry(tenant.id)];
    const got = await oldOpenGrouped(group);
    expect(got.map((r) => r.id)).toEqual(group.map((g) => g.jobId));

    // Opened one by one on a like tenant, the same two jobs write the same (balances after each included).
    const alone = [oldEntry(single.id), oldEntry(single.id)];
    for (const e of alone) await oldOpen(e);
    expect(await opened(group[1]?.jobId as string)).toEqual(await opened(alone[1]?.jobId as string));
    const fps = await rows<{ job_id: string; request_fingerprint: string }>(
      t.db,
      sql`SELECT job_id, request_fingerprint FROM ledger_transactions WHERE tenant_id = ${tenant.id}
            AND kind = 'hold' ORDER BY job_id`,
    );
    expect(fps).toEqual(
      group
        .map((g) => ({ job_id: g.jobId, request_fingerprint: g.holdFingerprint }))
        .sort((a, b) => (a.job_id < b.job_id ? -1 : 1)),
    );

    const report = await reconcile(t.db);
    expect(report.discrepancies.filter((d) => d.tenantId === tenant.id || d.tenantId === single.id)).toEqual(
      [],
    );
  });

  it('a hold fingerprint other than the one SQL builds raises, and nothing is written', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const e = oldEntry(tenant.id, '{"op":"hold","something":"else"}');
    await expect(oldOpen(e)).rejects.toThrow(/compatibility shim\): hold fingerprint .* differs from/);
    const [count] = await rows<{ jobs: bigint; txns: bigint }>(
      t.db,
      sql`SELECT (SELECT count(*) FROM jobs WHERE tenant_id = ${tenant.id}) AS jobs,
                 (SELECT count(*) FROM ledger_transactions WHERE tenant_id = ${tenant.id} AND kind = 'hold') AS txns`,
    );
    expect(count).toEqual({ jobs: 0n, txns: 0n });
    const report = await reconcile(t.db);
    expect(report.discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
  });
});
