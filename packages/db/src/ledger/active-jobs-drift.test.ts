// `active_jobs` drifted below the true count (a bug, a hand edit, a restore): every way a job ends
// must still end it — the slot is freed with greatest(…, 0), never below the CHECK — and reconcile
// reports the drift while it lasts (issue 23, item 13). Before: each of these threw on the CHECK
// (tenant_balances_active_jobs_check), forever, with the tenant's money held.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { hold, release } from '../testing/bare-holds';
import {
  advanceJob,
  captureJob,
  getAccount,
  markJobUnknown,
  reconcile,
  releaseJob,
  resolveJob,
} from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 5 });
});
afterAll(async () => {
  await t.close();
});

const completed = {
  status: 'completed' as const,
  output: 'https://cdn.example/out.png',
  outputs: [{ url: 'https://cdn.example/out.png', type: 'image' }],
  error: null,
  completedAt: null,
};
const failed = {
  ...completed,
  status: 'failed' as const,
  output: null,
  outputs: [],
  error: { code: 'X', message: 'x' },
};

async function drift(tenantId: string): Promise<void> {
  await t.db.execute(sql`UPDATE tenant_balances SET active_jobs = 0 WHERE tenant_id = ${tenantId}`);
  const r = await reconcile(t.db);
  expect(
    r.discrepancies.filter((d) => d.tenantId === tenantId).map((d) => d.kind),
    'reconcile reports the drift',
  ).toContain('ACTIVE_JOBS_MISMATCH');
}

async function captured(tenantId: string) {
  const job = await openTestJob(t.db, { tenantId, quoteMicroCents: 40_000n });
  await captureJob(t.db, {
    jobId: job.id,
    upstreamJobId: `up_${job.id}`,
    upstreamCostMicroCents: 40_000n,
    estimatedCompletionTime: null,
  });
  return job;
}

describe('a job ends even when active_jobs drifted to 0 under it', () => {
  it.each([
    [
      'completed (tollgate_complete_job)',
      async (jobId: string) => advanceJob(t.db, { jobId, upstream: completed }),
    ],
    ['failed and refunded', async (jobId: string) => advanceJob(t.db, { jobId, upstream: failed })],
    [
      'resolved by an admin',
      async (jobId: string) =>
        resolveJob(t.db, { jobId, decision: 'refund', reason: 'drift test', actor: 'admin:t' }),
    ],
  ] as const)('%s', async (_, end) => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const job = await captured(tenant.id);
    await drift(tenant.id);
    await end(job.id);
    const [row] = (await t.db.execute(sql`SELECT status FROM jobs WHERE id = ${job.id}`)) as unknown as {
      status: string;
    }[];
    expect(['completed', 'failed']).toContain(row?.status);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({ activeJobs: 0, heldMicroCents: 0n });
    // The drift healed itself (0 = the true count now): nothing left to report for this tenant.
    expect((await reconcile(t.db)).discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
  });

  it('a submit that is refused (released) and an unknown job released by decision', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const refused = await openTestJob(t.db, { tenantId: tenant.id });
    const unknown = await openTestJob(t.db, { tenantId: tenant.id });
    await markJobUnknown(t.db, { jobId: unknown.id, error: { code: 'TIMEOUT', message: 't' } });
    await drift(tenant.id);
    await releaseJob(t.db, { jobId: refused.id, status: 'rejected', error: { code: 'X', message: 'x' } });
    await resolveJob(t.db, { jobId: unknown.id, decision: 'refund', reason: 'drift', actor: 'admin:t' });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({ activeJobs: 0, heldMicroCents: 0n });
  });

  it('a bare hold released after the drift', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const h = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 10_000n,
      idempotencyKey: 'drift-hold',
      actor: 'test',
    });
    if (!h.ok) throw new Error(h.reason);
    await drift(tenant.id);
    expect(await release(t.db, { holdId: h.holdId, actor: 'test' })).toMatchObject({ ok: true });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({ activeJobs: 0, heldMicroCents: 0n });
  });
});
