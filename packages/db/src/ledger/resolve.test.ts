import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../client';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { advanceJob, captureJob, getAccount, markJobUnknown, reconcile, resolveJob } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 10 });
});
afterAll(async () => {
  await t.close();
});

const QUOTE = 40_000n;

async function auditRows(jobId: string): Promise<number> {
  const [r] = (await t.db.execute(
    sql`SELECT count(*)::int AS n FROM audit_log WHERE target_id = ${jobId} AND action = 'job.resolve'`,
  )) as unknown as { n: number }[];
  return r?.n ?? 0;
}

async function clean(tenantId: string) {
  const r = await reconcile(t.db);
  expect(r.discrepancies.filter((d) => d.tenantId === tenantId)).toEqual([]);
}

describe('resolveJob (admin decision)', () => {
  it.each([
    ['unknown', 'charge', 'completed', QUOTE, 0n],
    ['unknown', 'refund', 'rejected', 0n, 0n],
    ['pending', 'charge', 'completed', QUOTE, 0n],
    ['pending', 'refund', 'failed', 0n, QUOTE],
  ] as const)(
    '%s + %s → %s (charged %s, refunded %s), one audit row, books clean',
    async (from, decision, to, charged, refunded) => {
      const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
      const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: QUOTE });
      if (from === 'unknown')
        await markJobUnknown(t.db, { jobId: job.id, error: { code: 'TIMEOUT', message: 't' } });
      else
        await captureJob(t.db, {
          jobId: job.id,
          upstreamJobId: `up_${job.id}`,
          upstreamCostMicroCents: QUOTE,
          estimatedCompletionTime: null,
        });
      const r = await resolveJob(t.db, {
        jobId: job.id,
        decision,
        reason: 'ops ticket 9',
        actor: 'admin:alice',
      });
      if (!r.ok) throw new Error(r.reason);
      expect(r.job.status).toBe(to);
      expect(r.before).toBe(from);
      expect(r.job.refundedMicroCents).toBe(refunded);
      const account = await getAccount(t.db, tenant.id);
      expect(account).toMatchObject({
        availableMicroCents: 1_000_000n - charged,
        heldMicroCents: 0n,
        activeJobs: 0,
      });
      expect(await auditRows(job.id)).toBe(1);
      const again = await resolveJob(t.db, {
        jobId: job.id,
        decision,
        reason: 'twice',
        actor: 'admin:alice',
      });
      expect(again).toEqual({ ok: false, reason: 'JOB_ALREADY_SETTLED', status: to });
      expect(await auditRows(job.id)).toBe(1);
      await clean(tenant.id);
    },
  );

  it('unknown job: admin refund racing an upstream completion → money moves exactly once, books clean', async () => {
    const other = createDb(t.url, { max: 10 });
    try {
      for (let i = 0; i < 10; i++) {
        const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
        const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: QUOTE });
        await markJobUnknown(t.db, { jobId: job.id, error: { code: 'TIMEOUT', message: 't' } });
        const [resolved, advanced] = await Promise.all([
          resolveJob(t.db, { jobId: job.id, decision: 'refund', reason: 'race', actor: 'admin:bob' }),
          advanceJob(other.db, {
            jobId: job.id,
            upstreamJobId: `up_${job.id}`,
            upstream: {
              status: 'completed',
              output: 'https://x/y.png',
              outputs: null,
              error: null,
              completedAt: null,
            },
          }),
        ]);
        const account = await getAccount(t.db, tenant.id);
        if (resolved.ok) {
          // The admin won: released, never charged; the late completion changes nothing.
          expect(resolved.job.status).toBe('rejected');
          expect(account?.availableMicroCents).toBe(1_000_000n);
          expect(await auditRows(job.id)).toBe(1);
        } else {
          // The webhook won: charged once; the admin is told the job is settled.
          expect(resolved).toEqual({ ok: false, reason: 'JOB_ALREADY_SETTLED', status: 'completed' });
          expect(advanced.job.status).toBe('completed');
          expect(account?.availableMicroCents).toBe(1_000_000n - QUOTE);
          expect(await auditRows(job.id)).toBe(0);
        }
        expect(account).toMatchObject({ heldMicroCents: 0n, activeJobs: 0 });
        await clean(tenant.id);
      }
    } finally {
      await other.close();
    }
  });

  it('unknown job id → JOB_NOT_FOUND, nothing written', async () => {
    expect(
      await resolveJob(t.db, { jobId: 'job_missing', decision: 'charge', reason: 'x', actor: 'a' }),
    ).toEqual({
      ok: false,
      reason: 'JOB_NOT_FOUND',
    });
  });
});
