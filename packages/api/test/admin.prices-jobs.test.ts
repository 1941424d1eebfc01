import { jobs } from '@tollgate/db';
import { openJob } from '@tollgate/db/ledger';
import { defaultCatalogue, priceRuleToJson } from '@tollgate/pricing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  rowCounts,
  startHarness,
  waitFor,
} from './harness.ts';

async function dbNow(h: Harness): Promise<Date> {
  const [r] = await h.db.sql<{ now: Date }[]>`SELECT now() AS now`;
  if (!r) throw new Error('no clock');
  return new Date(r.now);
}

function cheapRule(overrides: { baseCostMicroCents: string; priceVersion: string }): Record<string, unknown> {
  const base = defaultCatalogue.get(CHEAP_MODEL);
  if (!base) throw new Error(`${CHEAP_MODEL} missing from the catalogue`);
  return { ...priceRuleToJson(base), ...overrides };
}

describe('admin.prices: runtime overrides', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a job after effectiveFrom is charged the new price and records its version; before, the old one', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const rule = cheapRule({ baseCostMicroCents: '55000', priceVersion: 'cheap-v2' });
    const future = new Date((await dbNow(h)).getTime() + 3_600_000);
    const pending = await h.admin.admin.prices.upsert.mutate({ rule, effectiveFrom: future.toISOString() });
    expect(pending).toMatchObject({
      model: CHEAP_MODEL,
      priceVersion: 'cheap-v2',
      inForce: false,
      replayed: false,
    });

    const before = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(before.costMicroCents, 'not effective yet: old price').toBe(CHEAP_PRICE);

    // Not yet effective, so the same version may still be moved: make it effective a moment ago.
    const past = new Date((await dbNow(h)).getTime() - 1_000);
    const live = await h.admin.admin.prices.upsert.mutate({ rule, effectiveFrom: past.toISOString() });
    expect(live).toMatchObject({ priceVersion: 'cheap-v2', inForce: true, replayed: false });

    const quote = await client.pricing.quote.query({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(quote).toMatchObject({ costMicroCents: 55_000, priceVersion: 'cheap-v2' });
    const after = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(after.costMicroCents).toBe(55_000);
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 - CHEAP_PRICE - 55_000);

    const listed = await h.admin.admin.jobs.list.query({ limit: 100 });
    const byId = new Map(listed.items.map((j) => [j.id, j]));
    expect(byId.get(after.id)).toMatchObject({ priceVersion: 'cheap-v2', listCostMicroCents: 55_000 });
    expect(byId.get(before.id)?.priceVersion).toBe(defaultCatalogue.get(CHEAP_MODEL)?.priceVersion);

    // An effective version is frozen (jobs were charged at it); an identical upsert is a replay.
    const frozen = await expectTRPCError(
      h.admin.admin.prices.upsert.mutate({
        rule: { ...rule, baseCostMicroCents: '1' },
        effectiveFrom: past.toISOString(),
      }),
    );
    expect(frozen).toMatchObject({ code: 'CONFLICT', reason: 'PRICE_VERSION_IN_EFFECT' });
    const replay = await h.admin.admin.prices.upsert.mutate({ rule, effectiveFrom: past.toISOString() });
    expect(replay.replayed).toBe(true);
    const list = await h.admin.admin.prices.list.query({ model: CHEAP_MODEL });
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ priceVersion: 'cheap-v2', inForce: true, createdBy: 'test-admin' });
    await h.expectReconciled();
  });

  it('a new model can be priced without a deploy; an unpriced model is refused; a bad rule changes nothing', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const refused = await expectTRPCError(
      client.pricing.quote.query({ model: 'acme/dream-1/text-to-image', input: { prompt: 'x' } }),
    );
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNKNOWN_MODEL' });
    const counts = await rowCounts(h.db);
    const submit = await expectTRPCError(
      client.jobs.submit.mutate({ model: 'acme/dream-1/text-to-image', input: { prompt: 'x' } }),
    );
    expect(submit).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNKNOWN_MODEL' });
    expect(await rowCounts(h.db), 'an unpriced model moves no money').toEqual(counts);

    const bad = await expectTRPCError(
      h.admin.admin.prices.upsert.mutate({
        rule: { model: 'acme/dream-1/text-to-image', name: 'x', category: 'image', unit: 'request' },
        effectiveFrom: new Date().toISOString(),
      }),
    );
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PRICE_RULE' });
    expect(await rowCounts(h.db)).toEqual(counts);

    await h.admin.admin.prices.upsert.mutate({
      rule: {
        model: 'acme/dream-1/text-to-image',
        name: 'Acme Dream 1',
        category: 'image',
        unit: 'request',
        baseCostMicroCents: '77777',
        priceVersion: 'acme-1',
        effectiveFrom: '2000-01-01T00:00:00Z',
        params: { prompt: { type: 'string', required: true, minLength: 1, maxLength: 100 } },
      },
      effectiveFrom: new Date((await dbNow(h)).getTime() - 1_000).toISOString(),
    });
    expect(
      await client.pricing.quote.query({ model: 'acme/dream-1/text-to-image', input: { prompt: 'x' } }),
    ).toMatchObject({ costMicroCents: 77_777, priceVersion: 'acme-1' });
    const models = await client.models.list.query();
    expect(models.items.find((m) => m.model === 'acme/dream-1/text-to-image')).toMatchObject({
      baseCostMicroCents: 77_777,
      priceVersion: 'acme-1',
    });
    expect(models.nextCursor, 'the whole catalogue in one page').toBeNull();
  });

  it('admin.prices.list is cursor-paginated: every override once, newest effectiveFrom first', async () => {
    const model = 'acme/pages-1/text-to-image';
    const base = (await dbNow(h)).getTime() + 86_400_000; // future versions: none in force
    for (let i = 0; i < 5; i += 1) {
      await h.admin.admin.prices.upsert.mutate({
        rule: {
          model,
          name: 'Acme Pages 1',
          category: 'image',
          unit: 'request',
          baseCostMicroCents: String(1_000 + i),
          priceVersion: `pages-${i}`,
          effectiveFrom: '2000-01-01T00:00:00Z',
          params: { prompt: { type: 'string', required: true, minLength: 1, maxLength: 100 } },
        },
        effectiveFrom: new Date(base + i * 60_000).toISOString(),
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await h.admin.admin.prices.list.query({ model, limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((o) => o.priceVersion));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['pages-4', 'pages-3', 'pages-2', 'pages-1', 'pages-0']);
  });
});

describe('admin.jobs: find stuck / unknown jobs and settle them by decision', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ submitTimeoutMs: 400 });
  });
  afterAll(async () => {
    await h.close();
  });

  async function unknownJob(balance = 1_000_000) {
    const t = await h.createTenant({ balanceMicroCents: balance });
    h.sim.control.hangNextSubmits(1);
    const job = await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('unknown');
    return { ...t, job };
  }

  it('unknown → charge: the tenant pays the quote once, job completed, audited; then it cannot move again', async () => {
    const { client, job } = await unknownJob();
    const stuck = await h.admin.admin.jobs.list.query({ stuck: true, limit: 100 });
    expect(stuck.items.map((j) => j.id)).toContain(job.id);
    const resolved = await h.admin.admin.jobs.resolve.mutate({
      jobId: job.id,
      decision: 'charge',
      reason: 'Pixelbyte dashboard shows it ran',
    });
    expect(resolved).toMatchObject({
      status: 'completed',
      costMicroCents: CHEAP_PRICE,
      refundedMicroCents: 0,
    });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
      heldMicroCents: 0,
      activeJobs: 0,
    });
    const counts = await rowCounts(h.db);
    const again = await expectTRPCError(
      h.admin.admin.jobs.resolve.mutate({ jobId: job.id, decision: 'refund', reason: 'changed my mind' }),
    );
    expect(again).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'JOB_ALREADY_SETTLED' });
    expect(await rowCounts(h.db)).toEqual(counts);
    const audit = await h.admin.admin.audit.list.query({ targetId: job.id });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      action: 'job.resolve',
      actor: 'test-admin',
      before: { status: 'unknown' },
      after: { status: 'completed', decision: 'charge' },
    });
    await h.expectReconciled();
  });

  it('unknown → refund: the hold is released, nothing charged', async () => {
    const { client, job } = await unknownJob();
    const resolved = await h.admin.admin.jobs.resolve.mutate({
      jobId: job.id,
      decision: 'refund',
      reason: 'never reached Pixelbyte',
    });
    expect(resolved).toMatchObject({ status: 'rejected', error: { code: 'RESOLVED_BY_ADMIN' } });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('a pending job past its deadline is listed as stuck, flagged by reconcile, and refunded once by decision', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(job.status).toBe('pending');
    // Test-only arrangement standing in for "an hour passed": the deadline is now behind the DB clock.
    await h.db.sql`UPDATE jobs SET deadline_at = now() - interval '1 minute' WHERE id = ${job.id}`;
    const stuck = await h.admin.admin.jobs.list.query({ stuck: true, limit: 100 });
    expect(stuck.items.find((j) => j.id === job.id)).toMatchObject({ overdue: true, status: 'pending' });
    const before = await h.admin.admin.reconcile.query();
    expect(before.ok).toBe(false);
    expect(before.discrepancies).toContainEqual(
      expect.objectContaining({ kind: 'OVERDUE_JOB', jobId: job.id }),
    );

    const resolved = await h.admin.admin.jobs.resolve.mutate({
      jobId: job.id,
      decision: 'refund',
      reason: 'upstream lost it',
    });
    expect(resolved).toMatchObject({ status: 'failed', refundedMicroCents: CHEAP_PRICE });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
    });
    const after = await h.admin.admin.reconcile.query();
    expect(after.discrepancies).toEqual([]);
    expect(after.ok).toBe(true);
    expect(BigInt(after.totals.netMicroCentsExact)).toBe(
      BigInt(after.totals.chargedMicroCentsExact) - BigInt(after.totals.refundedMicroCentsExact),
    );

    const missing = await expectTRPCError(
      h.admin.admin.jobs.resolve.mutate({ jobId: 'job_nope', decision: 'charge', reason: 'x' }),
    );
    expect(missing).toMatchObject({ code: 'NOT_FOUND', reason: 'JOB_NOT_FOUND' });
  });
});

describe('admin.jobs.resolve: a job still being submitted is refused', () => {
  let h: Harness;
  beforeAll(async () => {
    // Long enough for the resolve calls to land while the submit is in flight.
    h = await startHarness({ submitTimeoutMs: 3_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('submitting + in flight → PRECONDITION_FAILED / JOB_IN_FLIGHT, nothing written; once unknown it can be resolved', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    h.sim.control.hangNextSubmits(1);
    const submit = client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const jobId = await waitFor(
      async () => {
        const [row] = await h.db.db
          .select({ id: jobs.id, status: jobs.status })
          .from(jobs)
          .where(eq(jobs.tenantId, tenantId));
        return row?.status === 'submitting' ? row.id : null;
      },
      { what: 'the job row, submitting' },
    );
    const counts = await rowCounts(h.db);
    for (const decision of ['charge', 'refund'] as const) {
      const e = await expectTRPCError(
        h.admin.admin.jobs.resolve.mutate({ jobId, decision, reason: 'stuck?' }),
      );
      expect(e).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'JOB_IN_FLIGHT', httpStatus: 412 });
      expect(e.details).toMatchObject({ status: 'submitting' });
      expect(e.details?.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(await rowCounts(h.db), 'nothing written, no audit row').toEqual(counts);

    // The submit ends on its own (here: the upstream deadline → unknown); then an admin may decide.
    const job = await submit;
    expect(job).toMatchObject({ id: jobId, status: 'unknown' });
    const resolved = await h.admin.admin.jobs.resolve.mutate({
      jobId,
      decision: 'refund',
      reason: 'never reached Pixelbyte',
    });
    expect(resolved).toMatchObject({ status: 'rejected', error: { code: 'RESOLVED_BY_ADMIN' } });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('a submitting job older than any submit can last (its gateway died) can be resolved', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    // Test arrangement: what a gateway killed right after the hold commit leaves behind (see the
    // after-hold-commit fail point), created 11 minutes ago by the DB clock.
    const opened = await openJob(h.db.db, {
      tenantId,
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      quoteMicroCents: BigInt(CHEAP_PRICE),
      listCostMicroCents: BigInt(CHEAP_PRICE),
      priceVersion: 'test',
      fingerprint: 'orphan',
      tags: [],
    });
    if (!opened.ok) throw new Error(`openJob refused: ${opened.reason}`);
    const jobId = opened.job.id;
    await h.db.sql`UPDATE jobs SET created_at = now() - interval '11 minutes' WHERE id = ${jobId}`;
    // The usage roll-up counts a job on its creation day (UTC): within 11 minutes after midnight the
    // job now belongs to yesterday, so its count moves with it (the tenant's only roll-up rows).
    for (const table of ['usage_daily', 'usage_daily_tags']) {
      await h.db
        .sql`UPDATE ${h.db.sql(table)} SET day = (SELECT (created_at AT TIME ZONE 'UTC')::date FROM jobs WHERE id = ${jobId})
                      WHERE tenant_id = ${tenantId}`;
    }
    const resolved = await h.admin.admin.jobs.resolve.mutate({
      jobId,
      decision: 'refund',
      reason: 'gateway died mid-submit; nothing upstream',
    });
    expect(resolved).toMatchObject({ status: 'rejected', error: { code: 'RESOLVED_BY_ADMIN' } });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
      activeJobs: 0,
    });
    await h.expectReconciled();
  });
});
