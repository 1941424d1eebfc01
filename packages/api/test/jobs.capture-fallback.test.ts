// The capture-failure fallback of jobs.submit (recordAcceptance in services/submit-steps.ts):
// Pixelbyte accepted the job (and charged the operator) but the capture cannot be stored, even after
// the retries. The job must not be lost: it is marked `unknown` WITH the upstream id, so the poller
// captures it later; the tenant is charged exactly once in the end. (The `after-upstream-accept` fail
// point covers a crash at that step, in test/reliability/crash.test.ts; this covers the gateway
// staying up while the capture keeps failing.)
//
// The fault is real Postgres behaviour, not a mock: a trigger the test installs makes every insert of
// a `capture` ledger transaction fail (as a broken constraint or a bad deploy would), while the rest
// of the database keeps working. Webhooks are off, so only the poller can resolve the job.

import { jobs } from '@tollgate/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  startHarness,
} from './harness.ts';

const BALANCE = 1_000_000;

describe('jobs.submit: accepted upstream but the capture cannot be stored', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ webhooks: false });
  });
  afterAll(async () => {
    await h.close();
  });

  async function failCaptures(on: boolean) {
    if (on) {
      await h.db.sql.unsafe(`
        CREATE OR REPLACE FUNCTION test_fail_capture() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.kind = 'capture' THEN RAISE EXCEPTION 'test fault: capture cannot be stored'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER test_fail_capture BEFORE INSERT ON ledger_transactions
          FOR EACH ROW EXECUTE FUNCTION test_fail_capture();`);
    } else {
      await h.db.sql.unsafe('DROP TRIGGER IF EXISTS test_fail_capture ON ledger_transactions');
    }
  }

  it('the job is kept unknown with its upstream id, the poller captures it later: charged exactly once, reconcile clean', async () => {
    const { client, tenantId } = await h.createTenant({ balanceMicroCents: BALANCE });
    const submit = { model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'capture-fallback-1' };

    await failCaptures(true);
    try {
      const e = await expectTRPCError(client.jobs.submit.mutate(submit));
      // Not the tenant's fault, and no internals leak.
      expect(e).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', reason: 'INTERNAL', httpStatus: 500 });
      expect(e.message).not.toMatch(/test fault|ledger_transactions|capture cannot/);

      expect(h.sim.control.counts().jobsCreated, 'Pixelbyte accepted it').toBe(1);
      const upstream = h.sim.control.jobs()[0];
      const [row] = await h.db.db.select().from(jobs).where(eq(jobs.tenantId, tenantId));
      expect(row).toMatchObject({
        status: 'unknown',
        upstreamJobId: upstream?.jobId,
        // What Pixelbyte said it charged is kept with the id, for the capture and finance's margin.
        upstreamCostMicroCents: BigInt(CHEAP_PRICE),
        error: { code: 'CAPTURE_NOT_STORED' },
      });
      // Hold kept, nothing charged yet; due for a poll at once.
      expect(await client.account.get.query()).toMatchObject({
        availableMicroCents: BALANCE - CHEAP_PRICE,
        heldMicroCents: CHEAP_PRICE,
      });
      const [due] = await h.db.sql<{ due: boolean }[]>`
        SELECT next_poll_at <= now() AS due FROM jobs WHERE id = ${row?.id ?? ''}`;
      expect(due?.due).toBe(true);

      // The tenant's retry with the same key replays that job: no second upstream job.
      const replay = await client.jobs.submit.mutate(submit);
      expect(replay).toMatchObject({ id: row?.id, status: 'unknown', upstreamJobId: upstream?.jobId });
      expect(h.sim.control.counts().submitsReceived).toBe(1);

      // While captures still fail, a poll changes nothing (and moves no money).
      await h.sim.control.advance(upstream?.jobId ?? '', 'completed');
      await h.gateway.poller.runOnce();
      expect((await client.jobs.get.query({ id: row?.id ?? '' })).status).toBe('unknown');
      expect((await client.account.get.query()).heldMicroCents).toBe(CHEAP_PRICE);
    } finally {
      await failCaptures(false);
    }

    // The database is healthy again: the poller reads the truth and settles the job.
    const jobId = (await client.jobs.list.query({ limit: 10 })).items[0]?.id ?? '';
    await h.db.sql`UPDATE jobs SET next_poll_at = now() WHERE id = ${jobId}`; // skip the poll backoff
    await h.gateway.poller.runOnce();
    const done = await client.jobs.get.query({ id: jobId });
    expect(done).toMatchObject({ status: 'completed', costMicroCents: CHEAP_PRICE, refundedMicroCents: 0 });
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: BALANCE - CHEAP_PRICE,
      heldMicroCents: 0,
      activeJobs: 0,
    });
    const kinds = await h.db.sql<{ kind: string }[]>`
      SELECT kind::text FROM ledger_transactions WHERE job_id = ${jobId} ORDER BY created_at, id`;
    expect(
      kinds.map((k) => k.kind),
      'held once, charged exactly once',
    ).toEqual(['hold', 'capture']);
    const [settled] = await h.db.db.select().from(jobs).where(eq(jobs.id, jobId));
    expect(settled, 'the upstream cost survives the late capture').toMatchObject({
      upstreamCostMicroCents: BigInt(CHEAP_PRICE),
      costMismatch: false,
    });
    // Later triggers change nothing.
    await h.gateway.poller.runOnce();
    await h.gateway.unknownResolver.runOnce();
    expect((await client.account.get.query()).availableMicroCents).toBe(BALANCE - CHEAP_PRICE);
    await h.expectReconciled();
    const r = await h.admin.admin.reconcile.query();
    expect(r.discrepancies).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
