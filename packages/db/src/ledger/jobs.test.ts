import { sql as drizzleSql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../client';
import { newId } from '../ids';
import type { Job } from '../schema';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import {
  advanceJob,
  captureJob,
  claimJobsToPoll,
  claimOverdueJobs,
  expireOverdueJob,
  expireUnknownJob,
  getAccount,
  getHold,
  getJob,
  listJobs,
  listLedger,
  markJobUnknown,
  openJob,
  reconcile,
  releaseJob,
  topUp,
} from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

async function tenantIssues(tenantId: string) {
  return (await reconcile(t.db)).discrepancies.filter((d) => d.tenantId === tenantId);
}

const accepted = (job: Job, cost = job.listCostMicroCents) => ({
  jobId: job.id,
  upstreamJobId: `up_${job.id}`,
  upstreamCostMicroCents: cost,
  estimatedCompletionTime: new Date('2030-01-01T00:00:00Z'),
});

const upstream = (status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled') => ({
  status,
  output: status === 'completed' ? 'https://cdn.example/out.png' : null,
  outputs: status === 'completed' ? [{ url: 'https://cdn.example/out.png', type: 'image' }] : [],
  error: status === 'failed' ? { code: 'GENERATION_FAILED', message: 'boom' } : null,
  completedAt: status === 'completed' || status === 'failed' ? new Date('2030-01-01T00:01:00Z') : null,
});

function openArgs(
  tenantId: string,
  over: Partial<Parameters<typeof openJob>[1]> = {},
): Parameters<typeof openJob>[1] {
  return {
    tenantId,
    model: 'google/nano-banana',
    input: { prompt: 'cat', resolution: '1k' },
    quoteMicroCents: 44_000n,
    listCostMicroCents: 40_000n,
    priceVersion: 'v1',
    fingerprint: 'fp-1',
    tags: ['t1'],
    ...over,
  };
}

describe('job lifecycle', () => {
  it('open → capture → processing → completed settles the money once', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const opened = await openJob(t.db, openArgs(tenant.id));
    if (!opened.ok) throw new Error(opened.reason);
    expect(opened).toMatchObject({
      replayed: false,
      job: { status: 'submitting', costMicroCents: 44_000n, tags: ['t1'] },
    });
    expect(opened.job.id).toMatch(/^job_/);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 44_000n,
      activeJobs: 1,
    });

    const captured = await captureJob(t.db, accepted(opened.job, 40_000n));
    expect(captured.captured, 'the first capture captures').toBe(true);
    expect(captured.job).toMatchObject({
      status: 'pending',
      upstreamJobId: `up_${opened.job.id}`,
      costMismatch: false,
    });
    expect(await captureJob(t.db, accepted(opened.job, 40_000n))).toEqual({ ...captured, captured: false });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 0n,
      activeJobs: 1,
    });

    const processing = await advanceJob(t.db, { jobId: opened.job.id, upstream: upstream('processing') });
    expect(processing).toMatchObject({ changed: true, job: { status: 'processing' } });
    const done = await advanceJob(t.db, { jobId: opened.job.id, upstream: upstream('completed') });
    expect(done).toMatchObject({
      changed: true,
      job: { status: 'completed', output: 'https://cdn.example/out.png', refundedMicroCents: 0n },
    });
    expect(done.job.completedAt?.toISOString()).toBe('2030-01-01T00:01:00.000Z');
    // Late or duplicate upstream news never moves it backwards or charges again.
    for (const s of ['processing', 'pending', 'failed', 'completed'] as const) {
      expect(await advanceJob(t.db, { jobId: opened.job.id, upstream: upstream(s) })).toMatchObject({
        changed: false,
        job: { status: 'completed' },
      });
    }
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('flags an upstream cost different from the list price', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, {
      tenantId: tenant.id,
      quoteMicroCents: 44_000n,
      listCostMicroCents: 40_000n,
    });
    const captured = await captureJob(t.db, accepted(job, 41_000n));
    expect(captured.job).toMatchObject({ costMismatch: true, upstreamCostMicroCents: 41_000n });
    const result = await reconcile(t.db);
    expect(result.flags).toContainEqual(
      expect.objectContaining({ kind: 'UPSTREAM_COST_MISMATCH', jobId: job.id }),
    );
  });

  it('rejection releases the hold; the job is never charged', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 30_000n });
    const error = { code: 'INVALID_INPUT', message: 'bad prompt' };
    const rejected = await releaseJob(t.db, { jobId: job.id, status: 'rejected', error });
    expect(rejected).toMatchObject({ released: true, job: { status: 'rejected', error } });
    expect(await releaseJob(t.db, { jobId: job.id, status: 'rejected', error })).toEqual({
      ...rejected,
      released: false,
    });
    expect(await getHold(t.db, job.holdId)).toMatchObject({ status: 'released' });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100_000n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('failed upstream refunds the charge exactly once, even with concurrent duplicate reports', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 25_000n });
    await captureJob(t.db, accepted(job));
    const pool = createDb(t.url, { max: 10 });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          advanceJob(pool.db, { jobId: job.id, upstream: upstream(i % 2 ? 'failed' : 'cancelled') }),
        ),
      );
      expect(results.filter((r) => r.changed)).toHaveLength(1);
      const final = results.find((r) => r.changed)?.job;
      expect(final?.refundedMicroCents).toBe(25_000n);
      expect(['failed', 'cancelled']).toContain(final?.status);
    } finally {
      await pool.close();
    }
    const [refunds] = await t.sql<{ n: bigint }[]>`
      SELECT count(*) AS n FROM ledger_transactions WHERE job_id = ${job.id} AND kind = 'refund'`;
    expect(refunds?.n).toBe(1n);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100_000n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('capture racing release on one job: exactly one outcome, money moved once', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    const pool = createDb(t.url, { max: 20 });
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2
            ? captureJob(pool.db, accepted(job))
            : releaseJob(pool.db, { jobId: job.id, status: 'rejected', error: { code: 'X', message: 'x' } }),
        ),
      );
    } finally {
      await pool.close();
    }
    const final = await getJob(t.db, { jobId: job.id });
    const hold = await getHold(t.db, job.holdId);
    if (final?.status === 'pending') {
      expect(hold?.status).toBe('captured');
      expect(await getAccount(t.db, tenant.id)).toMatchObject({
        availableMicroCents: 90_000n,
        heldMicroCents: 0n,
        activeJobs: 1,
      });
    } else {
      expect(final?.status).toBe('rejected');
      expect(hold?.status).toBe('released');
      expect(await getAccount(t.db, tenant.id)).toMatchObject({
        availableMicroCents: 100_000n,
        heldMicroCents: 0n,
        activeJobs: 0,
      });
    }
    const kinds = await t.sql<
      { kind: string }[]
    >`SELECT kind FROM ledger_transactions WHERE job_id = ${job.id} ORDER BY created_at`;
    expect(kinds.map((k) => k.kind)).toEqual(['hold', final?.status === 'pending' ? 'capture' : 'release']);
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('unknown outcome keeps the hold; a late acceptance captures it; expiry releases and flags it', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const a = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    const b = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 20_000n });
    for (const j of [a, b]) {
      const marked = await markJobUnknown(t.db, {
        jobId: j.id,
        error: { code: 'TIMEOUT', message: 'no answer' },
      });
      expect(marked.job.status).toBe('unknown');
    }
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 70_000n,
      heldMicroCents: 30_000n,
      activeJobs: 2,
    });

    // a: upstream reports it (webhook with the upstream id) → captured and advanced in one go.
    const advanced = await advanceJob(t.db, {
      jobId: a.id,
      upstreamJobId: 'up_a',
      upstream: upstream('processing'),
    });
    expect(advanced).toMatchObject({
      changed: true,
      captured: true,
      job: { status: 'processing', upstreamJobId: 'up_a' },
    });

    // b: still unknown. A long grace does not expire it; a zero grace does.
    expect(await expireUnknownJob(t.db, { jobId: b.id, graceSeconds: 3_600 })).toMatchObject({
      ok: true,
      expired: false,
      job: { status: 'unknown' },
    });
    const expired = await expireUnknownJob(t.db, { jobId: b.id, graceSeconds: 0 });
    expect(expired).toMatchObject({
      ok: true,
      expired: true,
      job: { status: 'rejected', needsReview: true, error: { code: 'UNKNOWN_OUTCOME_EXPIRED' } },
    });
    expect(await expireUnknownJob(t.db, { jobId: b.id, graceSeconds: 0 })).toMatchObject({
      ok: true,
      expired: false,
    });
    expect(await expireUnknownJob(t.db, { jobId: 'job_missing', graceSeconds: 0 })).toEqual({
      ok: false,
      reason: 'JOB_NOT_FOUND',
    });

    // A late acceptance of the expired job does not charge the tenant after the fact.
    const late = await captureJob(t.db, accepted(b));
    expect(late).toMatchObject({
      captured: false,
      job: { status: 'rejected', needsReview: true, upstreamJobId: `up_${b.id}` },
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 90_000n,
      heldMicroCents: 0n,
      activeJobs: 1,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
    expect((await reconcile(t.db)).flags).toContainEqual(
      expect.objectContaining({ kind: 'NEEDS_REVIEW', jobId: b.id }),
    );
  });
});

describe('one upstream job, at most one of our jobs (issue 23 item 1)', () => {
  it('ten jobs captured at once with one upstream id: exactly one is captured, the others stay unknown, held and flagged', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const opened = await Promise.all(
      Array.from({ length: 10 }, () => openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n })),
    );
    const shared = `up_shared_${tenant.id}`;
    const pool = createDb(t.url, { max: 10 });
    let capturedCount = -1;
    try {
      // Every path that links an id at once: grouped captures, a slow-path capture, markJobUnknown.
      const results = await Promise.all(
        opened.map((job, i) =>
          i === 9
            ? markJobUnknown(pool.db, {
                jobId: job.id,
                error: { code: 'CAPTURE_NOT_STORED', message: 'x' },
                upstreamJobId: shared,
              })
            : captureJob(pool.db, { ...accepted(job), upstreamJobId: shared }),
        ),
      );
      capturedCount = results.filter((r) => 'captured' in r && r.captured).length;
    } finally {
      await pool.close();
    }
    const finals = await Promise.all(opened.map((job) => getJob(t.db, { jobId: job.id })));
    const linked = finals.filter((j) => j?.upstreamJobId === shared);
    expect(linked).toHaveLength(1);
    const others = finals.filter((j) => j?.upstreamJobId !== shared);
    expect(others).toHaveLength(9);
    for (const j of others) {
      expect(j).toMatchObject({
        status: 'unknown',
        upstreamJobId: null,
        collidedUpstreamJobId: shared,
        needsReview: true,
      });
    }
    const captures = await t.sql<{ n: bigint }[]>`
      SELECT count(*) AS n FROM ledger_transactions WHERE tenant_id = ${tenant.id} AND kind = 'capture'`;
    // The one linked job was captured (or, if markJobUnknown won the id, is unknown with it and due a poll).
    expect(Number(captures[0]?.n)).toBe(linked[0]?.status === 'pending' ? 1 : 0);
    expect(capturedCount, 'captureJob calls that answered captured: true').toBe(Number(captures[0]?.n));
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      heldMicroCents: (linked[0]?.status === 'pending' ? 9n : 10n) * 10_000n,
    });
    const r = await reconcile(t.db);
    expect(r.discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
    expect(
      r.flags
        .filter((f) => f.kind === 'UPSTREAM_JOB_ID_COLLISION' && f.tenantId === tenant.id)
        .map((f) => f.jobId),
    ).toEqual(expect.arrayContaining(others.map((j) => j?.id)));
  });
});

describe('unknown outcome with a known upstream id', () => {
  it('markJobUnknown stores the upstream id and makes the job due: the poller claims it, advanceJob charges it', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    const marked = await markJobUnknown(t.db, {
      jobId: job.id,
      error: { code: 'INVALID_RESPONSE', message: 'garbled 2xx' },
      upstreamJobId: 'up_known_1',
    });
    expect(marked.job).toMatchObject({ status: 'unknown', upstreamJobId: 'up_known_1' });
    // A later call never replaces the stored id.
    const again = await markJobUnknown(t.db, {
      jobId: job.id,
      error: { code: 'X', message: 'x' },
      upstreamJobId: 'up_other',
    });
    expect(again.job.upstreamJobId).toBe('up_known_1');

    const claimed = await claimJobsToPoll(t.db, { limit: 1_000 });
    const mine = claimed.find((j) => j.id === job.id);
    expect(mine).toMatchObject({ status: 'unknown', upstreamJobId: 'up_known_1' });

    const advanced = await advanceJob(t.db, { jobId: job.id, upstream: upstream('processing') });
    expect(advanced).toMatchObject({
      changed: true,
      job: { status: 'processing', upstreamJobId: 'up_known_1' },
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 90_000n,
      heldMicroCents: 0n,
      activeJobs: 1,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('an id learnt after the job became unknown is stored too', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    await markJobUnknown(t.db, { jobId: job.id, error: { code: 'TIMEOUT', message: 'no answer' } });
    expect((await getJob(t.db, { jobId: job.id }))?.upstreamJobId).toBeNull();
    const learnt = await markJobUnknown(t.db, {
      jobId: job.id,
      error: { code: 'CAPTURE_NOT_STORED', message: 'db blip' },
      upstreamJobId: 'up_known_2',
    });
    expect(learnt.job).toMatchObject({ status: 'unknown', upstreamJobId: 'up_known_2' });
    expect((await claimJobsToPoll(t.db, { limit: 1_000 })).map((j) => j.id)).toContain(job.id);
  });
});

describe('advanceJob reports what it did, not what a caller last read', () => {
  it('a job captured by another path is completed without a second capture', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    await markJobUnknown(t.db, { jobId: job.id, error: { code: 'TIMEOUT', message: 'no answer' } });
    // Two paths hold a snapshot saying `unknown`; the first captures it, the second completes it.
    const first = await advanceJob(t.db, {
      jobId: job.id,
      upstreamJobId: `up_${job.id}`,
      upstream: upstream('processing'),
    });
    expect(first).toMatchObject({ changed: true, captured: true, job: { status: 'processing' } });
    const second = await advanceJob(t.db, {
      jobId: job.id,
      upstreamJobId: `up_${job.id}`,
      upstream: upstream('completed'),
    });
    expect(second).toMatchObject({ changed: true, captured: false, job: { status: 'completed' } });
    const kinds = await t.sql<
      { kind: string }[]
    >`SELECT kind FROM ledger_transactions WHERE job_id = ${job.id} ORDER BY created_at`;
    expect(kinds.map((k) => k.kind)).toEqual(['hold', 'capture']);
  });
});

describe('capture after a webhook captured first', () => {
  it('the submit answer stores the upstream cost and cost_mismatch, and moves no money', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    // Webhook first: captured with the upstream id, cost unknown.
    const first = await advanceJob(t.db, {
      jobId: job.id,
      upstreamJobId: `up_${job.id}`,
      upstream: upstream('processing'),
    });
    expect(first.job).toMatchObject({ upstreamCostMicroCents: null, costMismatch: false });
    const late = await captureJob(t.db, accepted(first.job, first.job.listCostMicroCents + 1n));
    expect(late.captured, 'a capture after the webhook captured moves no money').toBe(false);
    expect(late.job).toMatchObject({
      status: 'processing',
      upstreamCostMicroCents: first.job.listCostMicroCents + 1n,
      costMismatch: true,
    });
    // Once known, the cost is not overwritten.
    const again = await captureJob(t.db, accepted(first.job));
    expect(again.job.upstreamCostMicroCents).toBe(first.job.listCostMicroCents + 1n);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 90_000n,
      heldMicroCents: 0n,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('deadline (invariant 5)', () => {
  it('an overdue pending job is claimed once, failed with DEADLINE_EXCEEDED, refunded once, its slot freed', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 10_000n });
    await captureJob(t.db, accepted(job));
    // Not overdue yet: nothing happens.
    expect(await expireOverdueJob(t.db, { jobId: job.id })).toMatchObject({ ok: true, expired: false });
    expect((await claimOverdueJobs(t.db, { limit: 1_000 })).map((j) => j.id)).not.toContain(job.id);

    // Test arrangement: the deadline passed and the job is due (not just handed to a poller).
    await t.sql`UPDATE jobs SET deadline_at = now() - interval '1 second' WHERE id = ${job.id}`;
    expect((await claimOverdueJobs(t.db, { limit: 1_000 })).map((j) => j.id)).not.toContain(job.id);
    await t.sql`UPDATE jobs SET next_poll_at = now() WHERE id = ${job.id}`;
    expect((await claimOverdueJobs(t.db, { limit: 1_000 })).map((j) => j.id)).toContain(job.id);
    expect((await claimOverdueJobs(t.db, { limit: 1_000 })).map((j) => j.id)).not.toContain(job.id);

    // Once overdue and due again, the poller leaves it to the deadline sweep: were the poller (every
    // 2 s) to claim it, it would push it out before the sweep (every minute) ever saw it due.
    await t.sql`UPDATE jobs SET next_poll_at = now() WHERE id = ${job.id}`;
    expect((await claimJobsToPoll(t.db, { limit: 1_000 })).map((j) => j.id)).not.toContain(job.id);
    expect((await claimOverdueJobs(t.db, { limit: 1_000 })).map((j) => j.id)).toContain(job.id);

    const expired = await expireOverdueJob(t.db, { jobId: job.id });
    expect(expired).toMatchObject({
      ok: true,
      expired: true,
      job: {
        status: 'failed',
        needsReview: true,
        refundedMicroCents: 10_000n,
        error: { code: 'DEADLINE_EXCEEDED' },
      },
    });
    expect(await expireOverdueJob(t.db, { jobId: job.id })).toMatchObject({ ok: true, expired: false });
    // A late upstream report changes nothing more.
    await advanceJob(t.db, { jobId: job.id, upstream: upstream('failed') });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100_000n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    expect(await expireOverdueJob(t.db, { jobId: 'job_missing' })).toEqual({
      ok: false,
      reason: 'JOB_NOT_FOUND',
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('openJob idempotency', () => {
  it('same key + same request replays the job with no second hold; a different request conflicts', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const args = openArgs(tenant.id, { idempotencyKey: 'k1' });
    const first = await openJob(t.db, args);
    if (!first.ok) throw new Error(first.reason);
    expect(await openJob(t.db, args)).toEqual({ ok: false, reason: 'IDEMPOTENCY_IN_FLIGHT' });
    await captureJob(t.db, accepted(first.job));
    const replay = await openJob(t.db, args);
    expect(replay).toMatchObject({ ok: true, replayed: true, job: { id: first.job.id, status: 'pending' } });
    expect(await openJob(t.db, { ...args, fingerprint: 'fp-other' })).toEqual({
      ok: false,
      reason: 'IDEMPOTENCY_CONFLICT',
    });
    // Keys are tenant-scoped: another tenant may use the same key.
    const other = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    expect(await openJob(t.db, { ...args, tenantId: other.id })).toMatchObject({ ok: true, replayed: false });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 0n,
    });
  });

  it('concurrent duplicates: one job and one hold; the others are told it is in flight', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const pool = createDb(t.url, { max: 15 });
    try {
      const results = await Promise.all(
        Array.from({ length: 15 }, () => openJob(pool.db, openArgs(tenant.id, { idempotencyKey: 'dup' }))),
      );
      const created = results.filter((r) => r.ok && !r.replayed);
      expect(created).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array(14).fill({ ok: false, reason: 'IDEMPOTENCY_IN_FLIGHT' }),
      );
    } finally {
      await pool.close();
    }
    const [holds] = await t.sql<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM holds WHERE tenant_id = ${tenant.id}`;
    expect(holds?.n).toBe(1n);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 44_000n,
    });
  });

  it('200 concurrent opens on a balance for 50 from 20 connections: exactly 50 jobs, the rest refused, nothing lost', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 50n * 44_000n });
    const pool = createDb(t.url, { max: 20 });
    let results: Awaited<ReturnType<typeof openJob>>[];
    try {
      results = await Promise.all(Array.from({ length: 200 }, () => openJob(pool.db, openArgs(tenant.id))));
    } finally {
      await pool.close();
    }
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(new Set(results.filter((r) => !r.ok).map((r) => r.reason))).toEqual(
      new Set(['INSUFFICIENT_BALANCE']),
    );
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 0n,
      heldMicroCents: 50n * 44_000n,
      activeJobs: 50,
    });
    const [rows] = await t.sql<{ jobs: bigint; holds: bigint; lines: bigint }[]>`
      SELECT (SELECT count(*) FROM jobs WHERE tenant_id = ${tenant.id}) AS jobs,
             (SELECT count(*) FROM holds WHERE tenant_id = ${tenant.id}) AS holds,
             (SELECT count(*) FROM ledger_lines WHERE tenant_id = ${tenant.id}) AS lines`;
    // One top-up line plus two lines per hold; refused attempts wrote nothing.
    expect(rows).toEqual({ jobs: 50n, holds: 50n, lines: 1n + 100n });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it("group commit: one tenant's concurrent opens go as groups; each caller gets its own result or error", async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100n * 44_000n });
    const pool = createDb(t.url, { max: 10 });
    const statements: string[] = [];
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
      const fn = /tollgate_open_jobs?\b/.exec(query);
      if (fn) statements.push(fn[0]);
    };
    let results: unknown[];
    try {
      results = await Promise.all([
        ...Array.from({ length: 5 }, () => openJob(pool.db, openArgs(tenant.id))),
        // One caller's bad request (list cost below zero breaks a CHECK) must not fail the others.
        openJob(pool.db, openArgs(tenant.id, { listCostMicroCents: -1n })).catch((err: unknown) => err),
        ...Array.from({ length: 35 }, () => openJob(pool.db, openArgs(tenant.id))),
        ...Array.from({ length: 10 }, (_, i) =>
          openJob(pool.db, openArgs(tenant.id, { idempotencyKey: `k${i % 2}` })),
        ),
      ]);
    } finally {
      await pool.close();
    }
    expect(statements, 'opens that arrived while one was in flight went as a group').toContain(
      'tollgate_open_jobs',
    );
    expect(results[5]).toBeInstanceOf(Error);
    const outcomes = results.filter((_, i) => i !== 5) as Awaited<ReturnType<typeof openJob>>[];
    expect(outcomes.slice(0, 40).every((r) => r.ok && !r.replayed)).toBe(true);
    const keyed = outcomes.slice(40);
    expect(keyed.filter((r) => r.ok && !r.replayed)).toHaveLength(2);
    for (const r of keyed.filter((r) => !r.ok))
      expect(r).toEqual({ ok: false, reason: 'IDEMPOTENCY_IN_FLIGHT' });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 58n * 44_000n,
      heldMicroCents: 42n * 44_000n,
      activeJobs: 42,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('group commit across tenants: opens, captures and completions go grouped; a failing entry fails only its own caller', async () => {
    const tenants = await Promise.all(
      Array.from({ length: 20 }, () => createTestTenant(t.db, { availableMicroCents: 10n * 44_000n })),
    );
    const [broken, failing] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const pool = createDb(t.url, { max: 10 });
    const statements = new Set<string>();
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
      const fn = /tollgate_(open|capture|complete)_jobs\b/.exec(query);
      if (fn) statements.add(fn[0]);
    };
    try {
      const opened = await Promise.all(
        tenants.flatMap((tenant) => Array.from({ length: 5 }, () => openJob(pool.db, openArgs(tenant.id)))),
      );
      const jobs = opened.map((r) => {
        if (!r.ok) throw new Error(r.reason);
        return r.job;
      });
      expect(statements).toContain('tollgate_open_jobs');

      // One tenant's captures must fail: its held balance no longer covers its holds (CHECK held >= 0
      // raises inside the group, which rolls back and retries each entry alone).
      await t.sql`UPDATE tenant_balances SET held_micro_cents = 0 WHERE tenant_id = ${broken.id}`;
      const captures = await Promise.allSettled([
        ...jobs.map((job) => captureJob(pool.db, accepted(job))),
        captureJob(pool.db, { ...accepted(jobs[0] as Job), jobId: 'job_does_not_exist' }),
      ]);
      expect(statements).toContain('tollgate_capture_jobs');
      captures.forEach((c, i) => {
        const job = jobs[i];
        const fails = job === undefined || job.tenantId === broken.id;
        expect(c.status, `capture ${i} (${job?.tenantId ?? 'unknown job'})`).toBe(
          fails ? 'rejected' : 'fulfilled',
        );
        if (c.status === 'fulfilled')
          expect(c.value.job).toMatchObject({ status: 'pending', upstreamJobId: `up_${job?.id}` });
      });
      await t.sql`UPDATE tenant_balances SET held_micro_cents = ${String(5n * 44_000n)}::bigint WHERE tenant_id = ${broken.id}`;

      // Another tenant's completions must fail: a trigger the test installs raises on them (as a
      // broken constraint or a bad deploy would). A concurrency counter that drifted to 0 no longer
      // does: freeing a slot never goes below zero (active-jobs-drift.test.ts).
      await t.sql.unsafe(`
        CREATE FUNCTION test_fail_completion() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.status = 'completed' AND NEW.tenant_id = '${failing.id}' THEN
            RAISE EXCEPTION 'test fault: completion cannot be stored';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER test_fail_completion BEFORE UPDATE ON jobs
          FOR EACH ROW EXECUTE FUNCTION test_fail_completion();`);
      const captured = jobs.filter((job) => job.tenantId !== broken.id);
      const completions = await Promise.allSettled(
        captured.map((job) => advanceJob(pool.db, { jobId: job.id, upstream: upstream('completed') })),
      );
      expect(statements).toContain('tollgate_complete_jobs');
      completions.forEach((c, i) => {
        const job = captured[i] as Job;
        expect(c.status, `completion of a job of ${job.tenantId}`).toBe(
          job.tenantId === failing.id ? 'rejected' : 'fulfilled',
        );
        if (c.status === 'fulfilled')
          expect(c.value).toMatchObject({ changed: true, job: { status: 'completed' } });
      });
    } finally {
      await t.sql.unsafe(
        'DROP TRIGGER IF EXISTS test_fail_completion ON jobs; DROP FUNCTION IF EXISTS test_fail_completion()',
      );
      await pool.close();
    }
    for (const tenant of tenants) {
      const done = tenant.id !== broken.id && tenant.id !== failing.id;
      expect(await getAccount(t.db, tenant.id), tenant.id).toMatchObject({
        availableMicroCents: 5n * 44_000n,
        heldMicroCents: tenant.id === broken.id ? 5n * 44_000n : 0n,
        activeJobs: done ? 0 : 5,
      });
      expect(await tenantIssues(tenant.id)).toEqual([]);
    }
  });

  it('stores tags, input and webhook url as given (tags in order)', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const tags = ['zeta', 'alpha', 'with,comma', 'é"quote'];
    const opened = await openJob(
      t.db,
      openArgs(tenant.id, {
        tags,
        input: { prompt: 'a "fox"', n: 2 },
        webhookUrl: 'https://hooks.example/x',
      }),
    );
    if (!opened.ok) throw new Error(opened.reason);
    expect(opened.job).toMatchObject({
      tags,
      input: { prompt: 'a "fox"', n: 2 },
      webhookUrl: 'https://hooks.example/x',
    });
    expect(await getJob(t.db, { jobId: opened.job.id })).toEqual(opened.job);
  });

  it('a refused attempt does not consume the key', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 10_000n });
    const args = openArgs(tenant.id, { idempotencyKey: 'poor' });
    expect(await openJob(t.db, args)).toEqual({
      ok: false,
      reason: 'INSUFFICIENT_BALANCE',
      requiredMicroCents: 44_000n,
      availableMicroCents: 10_000n,
    });
    const [jobs] = await t.sql<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM jobs WHERE tenant_id = ${tenant.id}`;
    expect(jobs?.n).toBe(0n);
    await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 50_000n,
      idempotencyKey: `more-${tenant.id}`,
      reference: 'r',
      actor: 'a',
    });
    expect(await openJob(t.db, args)).toMatchObject({ ok: true, replayed: false });
  });

  it('a definitive rejection releases the key: the same key opens a new job with a new hold', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const args = openArgs(tenant.id, { idempotencyKey: 'retry-me' });
    const first = await openJob(t.db, args);
    if (!first.ok) throw new Error(first.reason);
    const error = { code: 'SERVICE_UNAVAILABLE', message: 'upstream 503' };
    const rejected = await releaseJob(t.db, { jobId: first.job.id, status: 'rejected', error });
    expect(rejected.job).toMatchObject({
      status: 'rejected',
      idempotencyKey: null,
      releasedIdempotencyKey: 'retry-me',
    });
    expect(await releaseJob(t.db, { jobId: first.job.id, status: 'rejected', error })).toEqual({
      ...rejected,
      released: false,
    });

    const second = await openJob(t.db, args);
    if (!second.ok) throw new Error(second.reason);
    expect(second).toMatchObject({
      replayed: false,
      job: { status: 'submitting', idempotencyKey: 'retry-me' },
    });
    expect(second.job.id).not.toBe(first.job.id);
    expect(second.job.holdId).not.toBe(first.job.holdId);
    expect(await getHold(t.db, second.job.holdId)).toMatchObject({
      status: 'open',
      amountMicroCents: 44_000n,
    });
    await captureJob(t.db, accepted(second.job));
    expect(await openJob(t.db, args)).toMatchObject({
      ok: true,
      replayed: true,
      job: { id: second.job.id, status: 'pending' },
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 56_000n,
      heldMicroCents: 0n,
      activeJobs: 1,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('an unknown job keeps its key, also once expired: a retry replays it and holds nothing', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const args = openArgs(tenant.id, { idempotencyKey: 'maybe-sent' });
    const first = await openJob(t.db, args);
    if (!first.ok) throw new Error(first.reason);
    await markJobUnknown(t.db, { jobId: first.job.id, error: { code: 'TIMEOUT', message: 'no answer' } });
    expect(await openJob(t.db, args)).toMatchObject({
      ok: true,
      replayed: true,
      job: { id: first.job.id, status: 'unknown' },
    });
    const expired = await expireUnknownJob(t.db, { jobId: first.job.id, graceSeconds: 0 });
    expect(expired).toMatchObject({
      expired: true,
      job: { status: 'rejected', idempotencyKey: 'maybe-sent', releasedIdempotencyKey: null },
    });
    expect(await openJob(t.db, args)).toMatchObject({
      ok: true,
      replayed: true,
      job: { id: first.job.id, status: 'rejected', needsReview: true },
    });
    const [counts] = await t.sql<{ jobs: bigint; holds: bigint }[]>`
      SELECT (SELECT count(*) FROM jobs WHERE tenant_id = ${tenant.id}) AS jobs,
             (SELECT count(*) FROM holds WHERE tenant_id = ${tenant.id}) AS holds`;
    expect(counts).toEqual({ jobs: 1n, holds: 1n });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100_000n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
  });

  it('refuses unknown and suspended tenants', async () => {
    expect(await openJob(t.db, openArgs('ten_nobody'))).toEqual({ ok: false, reason: 'TENANT_NOT_FOUND' });
    const suspended = await createTestTenant(t.db, { availableMicroCents: 100_000n, status: 'suspended' });
    expect(await openJob(t.db, openArgs(suspended.id))).toEqual({ ok: false, reason: 'TENANT_SUSPENDED' });
  });
});

describe('tenant webhook outbox (trigger on terminal transitions)', () => {
  const deliveries = (jobId: string) =>
    t.sql<{ event_type: string; url: string; status: string }[]>`
      SELECT event_type, url, status FROM tenant_webhook_deliveries WHERE job_id = ${jobId}`;

  it('enqueues one delivery per asynchronous end, in the transition’s transaction; none for a synchronous refusal', async () => {
    const tenant = await createTestTenant(t.db, {
      availableMicroCents: 1_000_000n,
      webhookUrl: 'https://tenant.example/default',
    });
    const completed = await openTestJob(t.db, { tenantId: tenant.id });
    await captureJob(t.db, accepted(completed));
    await advanceJob(t.db, { jobId: completed.id, upstream: upstream('processing') });
    expect(await deliveries(completed.id), 'not terminal yet').toEqual([]);
    await advanceJob(t.db, { jobId: completed.id, upstream: upstream('completed') });
    await advanceJob(t.db, { jobId: completed.id, upstream: upstream('failed') });
    expect(await deliveries(completed.id)).toEqual([
      { event_type: 'job.completed', url: 'https://tenant.example/default', status: 'pending' },
    ]);

    const own = await openJob(
      t.db,
      openArgs(tenant.id, { webhookUrl: 'https://tenant.example/own', fingerprint: 'fp-own' }),
    );
    if (!own.ok) throw new Error(own.reason);
    await captureJob(t.db, accepted(own.job));
    await advanceJob(t.db, { jobId: own.job.id, upstream: upstream('cancelled') });
    expect(await deliveries(own.job.id)).toEqual([
      { event_type: 'job.cancelled', url: 'https://tenant.example/own', status: 'pending' },
    ]);

    const refused = await openTestJob(t.db, { tenantId: tenant.id });
    await releaseJob(t.db, { jobId: refused.id, status: 'rejected', error: { code: 'X', message: 'x' } });
    expect(await deliveries(refused.id), 'the submit caller got the error').toEqual([]);

    const lost = await openTestJob(t.db, { tenantId: tenant.id });
    await markJobUnknown(t.db, { jobId: lost.id, error: { code: 'TIMEOUT', message: 'no answer' } });
    await expireUnknownJob(t.db, { jobId: lost.id, graceSeconds: 0 });
    expect(await deliveries(lost.id)).toEqual([
      { event_type: 'job.rejected', url: 'https://tenant.example/default', status: 'pending' },
    ]);
  });

  it('no URL on the job nor the tenant → nothing to deliver', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id });
    await captureJob(t.db, accepted(job));
    await advanceJob(t.db, { jobId: job.id, upstream: upstream('completed') });
    expect(await deliveries(job.id)).toEqual([]);
  });
});

describe('limits on openJob', () => {
  it('max concurrent jobs holds under concurrency; a terminal job frees its slot', async () => {
    const tenant = await createTestTenant(t.db, {
      availableMicroCents: 1_000_000n,
      limits: { maxConcurrentJobs: 2 },
    });
    const pool = createDb(t.url, { max: 12 });
    let opened: Job[] = [];
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, () => openJob(pool.db, openArgs(tenant.id))),
      );
      opened = results.flatMap((r) => (r.ok ? [r.job] : []));
      expect(opened).toHaveLength(2);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array(10).fill({ ok: false, reason: 'CONCURRENT_JOBS_LIMIT', limit: 2 }),
      );
    } finally {
      await pool.close();
    }
    const [a, b] = opened;
    if (!a || !b) throw new Error('expected two jobs');
    // Accepted upstream is still running: it keeps its slot.
    await captureJob(t.db, accepted(a));
    expect(await openJob(t.db, openArgs(tenant.id))).toMatchObject({
      ok: false,
      reason: 'CONCURRENT_JOBS_LIMIT',
    });
    await advanceJob(t.db, { jobId: a.id, upstream: upstream('completed') });
    expect(await openJob(t.db, openArgs(tenant.id))).toMatchObject({ ok: true });
    await releaseJob(t.db, { jobId: b.id, status: 'rejected', error: { code: 'X', message: 'x' } });
    expect(await openJob(t.db, openArgs(tenant.id))).toMatchObject({ ok: true });
    expect(await openJob(t.db, openArgs(tenant.id))).toMatchObject({
      ok: false,
      reason: 'CONCURRENT_JOBS_LIMIT',
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('daily spend limit counts charges, not refunded or released money', async () => {
    const tenant = await createTestTenant(t.db, {
      availableMicroCents: 1_000_000n,
      limits: { dailySpendLimitMicroCents: 100_000n },
    });
    const a = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 60_000n });
    const refused = await openJob(t.db, openArgs(tenant.id, { quoteMicroCents: 50_000n }));
    expect(refused).toMatchObject({ ok: false, reason: 'DAILY_SPEND_LIMIT', limit: 100_000n });
    await captureJob(t.db, accepted(a));
    await advanceJob(t.db, { jobId: a.id, upstream: upstream('failed') });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      spentTodayMicroCents: 0n,
      availableMicroCents: 1_000_000n,
    });
    expect(await openJob(t.db, openArgs(tenant.id, { quoteMicroCents: 100_000n }))).toMatchObject({
      ok: true,
    });
  });
});

describe('polling and reads', () => {
  it('claimJobsToPoll hands each due job to one claimer and backs off', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const opened = [];
    for (let i = 0; i < 6; i++) opened.push(await openTestJob(t.db, { tenantId: tenant.id }));
    for (const j of opened) await captureJob(t.db, accepted(j));
    const ids = opened.map((j) => j.id);
    // Make them due now (the first poll is scheduled a few seconds after acceptance).
    await t.sql`UPDATE jobs SET next_poll_at = now() - interval '1 second' WHERE id = ANY(${ids})`;
    const pool = createDb(t.url, { max: 3 });
    try {
      const claims = await Promise.all([0, 1, 2].map(() => claimJobsToPoll(pool.db, { limit: 100 })));
      const claimed = claims
        .flat()
        .map((j) => j.id)
        .filter((id) => ids.includes(id));
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.sort()).toEqual([...ids].sort());
    } finally {
      await pool.close();
    }
    const again = await claimJobsToPoll(t.db, { limit: 100 });
    expect(again.filter((j) => ids.includes(j.id))).toEqual([]);
    const rows = await t.sql<{ attempts: number; delay: string }[]>`
      SELECT poll_attempts AS attempts, (next_poll_at > now())::text AS delay FROM jobs WHERE id = ANY(${ids})`;
    expect(rows.every((r) => r.attempts === 1 && r.delay === 'true')).toBe(true);
  });

  it('lists a tenant’s jobs newest first with a cursor, filters, and hides other tenants’ jobs', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const stranger = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const mine: Job[] = [];
    for (let i = 0; i < 5; i++)
      mine.push(await openTestJob(t.db, { tenantId: tenant.id, model: i % 2 ? 'm/odd' : 'm/even' }));
    const theirs = await openTestJob(t.db, { tenantId: stranger.id });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobs(t.db, { tenantId: tenant.id, limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(mine.map((j) => j.id).reverse());
    expect((await listJobs(t.db, { tenantId: tenant.id, model: 'm/odd', limit: 10 })).items).toHaveLength(2);
    expect(
      (await listJobs(t.db, { tenantId: tenant.id, status: 'completed', limit: 10 })).items,
    ).toHaveLength(0);
    expect(await listJobs(t.db, { tenantId: tenant.id, cursor: 'garbage', limit: 10 })).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(await getJob(t.db, { tenantId: tenant.id, jobId: theirs.id })).toBeUndefined();
    expect(await getJob(t.db, { tenantId: stranger.id, jobId: theirs.id })).toMatchObject({ id: theirs.id });
  });

  it('listLedger is the tenant’s statement, newest first, with running balances', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100_000n });
    const job = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 30_000n });
    await captureJob(t.db, accepted(job));
    const entries = [];
    let cursor: string | undefined;
    do {
      const page = await listLedger(t.db, { tenantId: tenant.id, limit: 1, ...(cursor ? { cursor } : {}) });
      entries.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(entries.map((e) => [e.kind, e.account, e.amountMicroCents, e.balanceAfterMicroCents])).toEqual([
      ['capture', 'tenant_held', -30_000n, 0n],
      ['hold', 'tenant_held', 30_000n, 30_000n],
      ['hold', 'tenant_available', -30_000n, 70_000n],
      ['top_up', 'tenant_available', 100_000n, 100_000n],
    ]);
    expect(entries.every((e) => e.tenantId === tenant.id)).toBe(true);
    const future = await listLedger(t.db, {
      tenantId: tenant.id,
      from: new Date(Date.now() + 3_600_000),
      limit: 10,
    });
    expect(future.items).toEqual([]);
  });
});

describe('lock order: a group never deadlocks with a single-job transaction', () => {
  it('a capture group waits for a job a webhook holds, without holding the balance row it needs', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const first = await openTestJob(t.db, { tenantId: tenant.id });
    const second = await openTestJob(t.db, { tenantId: tenant.id });
    const entries = [first, second].map((job, i) => ({
      jobId: job.id,
      txnId: newId('txn'),
      upstreamJobId: `up_lock_${i}_${job.id}`,
      upstreamCost: '40000',
      estimatedCompletionTime: null,
      actor: null,
    }));
    // What advanceJob does for a webhook on the second job: its row, then the tenant's balance row.
    let jobLocked: () => void = () => {};
    let groupWaiting: () => void = () => {};
    const locked = new Promise<void>((resolve) => {
      jobLocked = resolve;
    });
    const waiting = new Promise<void>((resolve) => {
      groupWaiting = resolve;
    });
    const webhook = t.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM jobs WHERE id = ${second.id} FOR UPDATE`;
      jobLocked();
      await waiting;
      // Before 0009 the group held this row (its first entry's) while waiting for the second job:
      // Postgres found the cycle after deadlock_timeout and aborted one of the two (40P01).
      await tx`UPDATE tenant_balances SET updated_at = now() WHERE tenant_id = ${tenant.id}`;
    });
    await locked;
    // The group of both captures starts now, on another connection, and must wait for that job.
    // .then() sends it now (drizzle's query promises are lazy).
    const group = t.db
      .execute<{ id: string }>(
        drizzleSql`SELECT id FROM tollgate_capture_jobs(${JSON.stringify(entries)}::jsonb)`,
      )
      .then((rows) => rows.map((r) => r.id));
    for (;;) {
      const [w] = await t.sql<{ waiting: number }[]>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND query LIKE 'SELECT id FROM tollgate_capture_jobs%'`;
      if ((w?.waiting ?? 0) > 0) break;
    }
    groupWaiting();
    await webhook;
    const captured = await group;
    expect(captured.sort()).toEqual([first.id, second.id].sort());
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 1_000_000n - 80_000n,
      heldMicroCents: 0n,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('group steps read job rows by primary key, whatever the size of the table', () => {
  it('a capture group and a completion group make no sequential scan of jobs', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const opened = [];
    for (let i = 0; i < 3; i++) opened.push(await openTestJob(t.db, { tenantId: tenant.id }));
    const captures = opened.map((job) => ({
      jobId: job.id,
      txnId: newId('txn'),
      upstreamJobId: `up_scan_${job.id}`,
      upstreamCost: '40000',
      estimatedCompletionTime: null,
      actor: null,
    }));
    const completions = opened.map((job) => ({
      jobId: job.id,
      output: 'https://cdn.example/out.png',
      outputs: [{ url: 'https://cdn.example/out.png', type: 'image' }],
      completedAt: '2030-01-01T00:01:00Z',
    }));
    // PL/pgSQL caches each statement's plan per connection: 0009's lock statement, planned while
    // `jobs` was small, kept a hash join over a sequential scan of the whole table until the next
    // ANALYZE. pg_stat_xact_user_tables also holds this connection's counts not yet flushed, so the
    // scans are read before and after, inside one transaction (nothing is flushed mid-transaction).
    const scans = await t.sql.begin(async (tx) => {
      const read = async () => {
        const [s] = await tx<{ seq: number; idx: number }[]>`
          SELECT seq_scan::int AS seq, idx_scan::int AS idx FROM pg_stat_xact_user_tables
           WHERE relname = 'jobs'`;
        return s ?? { seq: 0, idx: 0 };
      };
      const before = await read();
      await tx`SELECT id FROM tollgate_capture_jobs(${JSON.stringify(captures)}::jsonb)`;
      await tx`SELECT id FROM tollgate_complete_jobs(${JSON.stringify(completions)}::jsonb)`;
      const after = await read();
      return { seq: after.seq - before.seq, idx: after.idx - before.idx };
    });
    expect(scans.seq).toBe(0);
    expect(scans.idx).toBeGreaterThan(0);
    for (const job of opened) expect((await getJob(t.db, { jobId: job.id }))?.status).toBe('completed');
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 1_000_000n - 3n * 40_000n,
      heldMicroCents: 0n,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('a job completed twice in one group (a webhook and the poller)', () => {
  it('is reported changed to exactly one of the two callers', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000_000n });
    const [first, twice] = [
      await openTestJob(t.db, { tenantId: tenant.id }),
      await openTestJob(t.db, { tenantId: tenant.id }),
    ] as [Job, Job];
    for (const job of [first, twice]) await captureJob(t.db, accepted(job));
    const pool = createDb(t.url, { max: 4 });
    const statements: string[] = [];
    (pool.sql.options as { debug?: unknown }).debug = (_id: number, query: string) => {
      const fn = /tollgate_complete_jobs?\b/.exec(query);
      if (fn) statements.push(fn[0]);
    };
    try {
      // The first goes alone at once; the two for `twice`, sent meanwhile, go as one group.
      const [, a, b] = await Promise.all([
        advanceJob(pool.db, { jobId: first.id, upstream: upstream('completed') }),
        advanceJob(pool.db, { jobId: twice.id, upstream: upstream('completed') }),
        advanceJob(pool.db, { jobId: twice.id, upstream: upstream('completed') }),
      ]);
      expect(statements).toContain('tollgate_complete_jobs');
      // `changed` drives the transition metrics and logs: one completion, counted once.
      expect([a.changed, b.changed].sort()).toEqual([false, true]);
      expect([a.job.status, b.job.status]).toEqual(['completed', 'completed']);
    } finally {
      await pool.close();
    }
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 1_000_000n - 2n * 40_000n,
      heldMicroCents: 0n,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});
