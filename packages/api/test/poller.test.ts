// The poller (no webhooks): reads jobs upstream a few at a time, and hands each completion to the
// ledger's group commit without holding a read lane while it waits. So a tenant whose balance row is
// busy (a hot tenant: its opens and captures hold that row) still has every due job read, and the
// completions go to the ledger together instead of at most POLL_CONCURRENCY per statement.
import { jobs } from '@tollgate/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJobWithUpstream } from '../src/services/lifecycle.ts';
import { CHEAP_INPUT, CHEAP_MODEL, type Harness, startHarness, waitFor } from './harness.ts';

describe('poller', () => {
  let h: Harness;
  beforeAll(async () => {
    // The harness's poller reads 4 jobs at a time, 50 a pass.
    h = await startHarness({ webhooks: false });
  });
  afterAll(async () => {
    await h.close();
  });

  it('reads every due job while the ledger is busy, then completes them in one grouped statement', async () => {
    const JOBS = 12; // more than the poller's 4 read lanes
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 10_000_000 });
    const submitted: Awaited<ReturnType<typeof client.jobs.submit.mutate>>[] = [];
    for (let i = 0; i < JOBS; i++) {
      submitted.push(await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    }
    for (const job of submitted) await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    // Test arrangement: due now rather than 5 s after the capture.
    await h.db.sql`UPDATE jobs SET next_poll_at = now() WHERE tenant_id = ${tenantId}`;
    // Reads whose answer the gateway has received (counted after the reply; the job's ledger update
    // is queued microtasks later, with no I/O in between).
    const reads = async () =>
      (await h.gateway.deps.metrics.upstreamCalls.get()).values
        .filter((v) => v.labels.operation === 'get')
        .reduce((sum, v) => sum + v.value, 0);
    const readsBefore = await reads();

    let pass: Promise<number> | undefined;
    // Another transaction holds the tenant's balance row, as a hot tenant's open or capture group
    // does: the first completion waits on it. The reads must not.
    await h.db.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM tenant_balances WHERE tenant_id = ${tenantId} FOR UPDATE`;
      pass = h.gateway.poller.runOnce();
      await waitFor(async () => (await reads()) >= readsBefore + JOBS, {
        timeoutMs: 10_000,
        what: `all ${JOBS} due jobs read upstream while the first completion waits on the balance row`,
      });
    });
    expect(await pass).toBe(JOBS);

    const rows = await h.db.sql<{ status: string; xid: string }[]>`
      SELECT status, xmin::text AS xid FROM jobs WHERE tenant_id = ${tenantId}`;
    expect(rows.map((r) => r.status)).toEqual(Array(JOBS).fill('completed'));
    // The first completion went alone (and waited); the other 11 queued meanwhile and went as one
    // statement after it: two transactions wrote the 12 completions. (The ledger sends one group
    // statement per step at a time, up to 100 entries: GROUP_IN_FLIGHT / MAX_GROUP in
    // packages/db/src/ledger/group-commit.ts.)
    expect(new Set(rows.map((r) => r.xid)).size).toBe(2);
    const [balance] = await h.db.sql<{ active: number }[]>`
      SELECT active_jobs AS active FROM tenant_balances WHERE tenant_id = ${tenantId}`;
    expect(balance?.active).toBe(0);
    await h.expectReconciled();
  });

  it('a job whose status has not changed upstream is read without touching its row', async () => {
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const submitted = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const [job] = await h.db.db.select().from(jobs).where(eq(jobs.id, submitted.id));
    if (!job) throw new Error('job row missing');
    expect(job.status).toBe('pending');
    const ctx = { deps: h.gateway.deps, requestId: 'test', log: h.gateway.deps.log };
    // Another transaction holds the job's row: a poll that took the row lock would wait for it.
    const synced = await h.db.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM jobs WHERE id = ${job.id} FOR UPDATE`;
      return syncJobWithUpstream(ctx, job, { actor: 'test' });
    });
    expect(synced.upstream?.status).toBe('pending');
    expect(synced.changed).toBe(false);
    expect(synced.job.status).toBe('pending');
    const [after] = await h.db.sql<{ status: string; active: number }[]>`
      SELECT j.status, b.active_jobs AS active FROM jobs j JOIN tenant_balances b USING (tenant_id)
      WHERE j.tenant_id = ${tenantId}`;
    expect(after).toEqual({ status: 'pending', active: 1 });
    await h.expectReconciled();
  }, 15_000);
});
