import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../client';
import { createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { capture, hold, refund, release } from '../testing/bare-holds';
import { getAccount, getHold, reconcile, updateTenant } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

async function tenantIssues(tenantId: string) {
  const result = await reconcile(t.db);
  return result.discrepancies.filter((d) => d.tenantId === tenantId);
}

async function ledgerKinds(holdId: string): Promise<string[]> {
  const rows = await t.sql<{ kind: string }[]>`
    SELECT kind FROM ledger_transactions WHERE hold_id = ${holdId} ORDER BY created_at, kind`;
  return rows.map((r) => r.kind);
}

describe('hold under concurrency', () => {
  it('1,000 concurrent holds of 1 on a balance of 500 from >= 50 connections: exactly 500 succeed', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 500n });
    const pool = createDb(t.url, { max: 55 });
    try {
      const results = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          hold(pool.db, {
            tenantId: tenant.id,
            amountMicroCents: 1n,
            idempotencyKey: `c-${tenant.id}-${i}`,
            actor: 'test',
          }),
        ),
      );
      const [connections] = await pool.sql<{ n: bigint }[]>`
        SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tollgate'`;
      expect(Number(connections?.n), 'distinct server connections used by the pool').toBeGreaterThanOrEqual(
        50,
      );

      const ok = results.filter((r) => r.ok);
      expect(ok).toHaveLength(500);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'INSUFFICIENT_BALANCE')).toBe(
        true,
      );
      expect(new Set(ok.map((r) => (r.ok ? r.holdId : ''))).size).toBe(500);
    } finally {
      await pool.close();
    }
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 0n,
      heldMicroCents: 500n,
      activeJobs: 500,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('20 concurrent captures racing 20 releases on one hold: exactly one resolution', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const h = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 300n,
      idempotencyKey: `race-${tenant.id}`,
      actor: 'test',
    });
    if (!h.ok) throw new Error(`hold failed: ${h.reason}`);
    const pool = createDb(t.url, { max: 40 });
    try {
      const ops = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? capture(pool.db, { holdId: h.holdId, actor: 'test' }).then((r) => ({ op: 'capture' as const, r }))
          : release(pool.db, { holdId: h.holdId, actor: 'test' }).then((r) => ({
              op: 'release' as const,
              r,
            })),
      );
      const results = await Promise.all(ops);
      const firsts = results.filter((x) => x.r.ok && !x.r.replayed);
      expect(firsts, 'exactly one operation resolved the hold').toHaveLength(1);
      const winner = firsts[0]?.op;
      for (const { op, r } of results) {
        if (op === winner) expect(r.ok, `${op} lost to itself must replay`).toBe(true);
        else
          expect(r).toEqual({
            ok: false,
            reason: 'HOLD_ALREADY_RESOLVED',
            status: winner === 'capture' ? 'captured' : 'released',
          });
      }
      expect(await ledgerKinds(h.holdId)).toEqual(['hold', winner]);
      expect(await getAccount(t.db, tenant.id)).toMatchObject(
        winner === 'capture'
          ? { availableMicroCents: 700n, heldMicroCents: 0n, activeJobs: 0 }
          : { availableMicroCents: 1_000n, heldMicroCents: 0n, activeJobs: 0 },
      );
    } finally {
      await pool.close();
    }
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('capture, release, refund', () => {
  it('partial capture releases the rest in the same transaction; replays and conflicts', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const h = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 400n,
      idempotencyKey: `p-${tenant.id}`,
      actor: 'test',
    });
    if (!h.ok) throw new Error(h.reason);
    expect(await capture(t.db, { holdId: h.holdId, amountMicroCents: 401n, actor: 'test' })).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
    const c = await capture(t.db, { holdId: h.holdId, amountMicroCents: 250n, actor: 'test' });
    expect(c).toMatchObject({
      ok: true,
      replayed: false,
      capturedMicroCents: 250n,
      releasedMicroCents: 150n,
    });
    expect(await capture(t.db, { holdId: h.holdId, amountMicroCents: 250n, actor: 'test' })).toEqual({
      ...c,
      replayed: true,
    });
    expect(await capture(t.db, { holdId: h.holdId, amountMicroCents: 100n, actor: 'test' })).toEqual({
      ok: false,
      reason: 'IDEMPOTENCY_CONFLICT',
    });
    expect(await release(t.db, { holdId: h.holdId, actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_ALREADY_RESOLVED',
      status: 'captured',
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 750n,
      heldMicroCents: 0n,
    });
    expect(await getHold(t.db, h.holdId)).toMatchObject({ status: 'captured', capturedMicroCents: 250n });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('refunds a capture at most once, even concurrently', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const h = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 600n,
      idempotencyKey: `rf-${tenant.id}`,
      actor: 'test',
    });
    if (!h.ok) throw new Error(h.reason);
    expect(await refund(t.db, { holdId: h.holdId, actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_NOT_CAPTURED',
      status: 'open',
    });
    await capture(t.db, { holdId: h.holdId, actor: 'test' });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 400n,
      heldMicroCents: 0n,
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refund(t.db, { holdId: h.holdId, actor: 'test' })),
    );
    expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(results.every((r) => r.ok && r.refundedMicroCents === 600n)).toBe(true);
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 1_000n,
      heldMicroCents: 0n,
    });
    expect(await ledgerKinds(h.holdId)).toEqual(['hold', 'capture', 'refund']);
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('refuses refunds of released holds, a zero capture, and unknown holds', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100n });
    const a = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 10n,
      idempotencyKey: `z1-${tenant.id}`,
      actor: 'test',
    });
    const b = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 10n,
      idempotencyKey: `z2-${tenant.id}`,
      actor: 'test',
    });
    if (!a.ok || !b.ok) throw new Error('holds failed');
    await release(t.db, { holdId: a.holdId, actor: 'test' });
    expect(await release(t.db, { holdId: a.holdId, actor: 'test' })).toMatchObject({
      ok: true,
      replayed: true,
      releasedMicroCents: 10n,
    });
    expect(await refund(t.db, { holdId: a.holdId, actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_NOT_CAPTURED',
      status: 'released',
    });
    expect(await capture(t.db, { holdId: b.holdId, amountMicroCents: 0n, actor: 'test' })).toMatchObject({
      ok: true,
      capturedMicroCents: 0n,
      releasedMicroCents: 10n,
    });
    expect(await refund(t.db, { holdId: b.holdId, actor: 'test' })).toEqual({
      ok: false,
      reason: 'NOTHING_TO_REFUND',
    });
    expect(await capture(t.db, { holdId: 'hold_nope', actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_NOT_FOUND',
    });
    expect(await release(t.db, { holdId: 'hold_nope', actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_NOT_FOUND',
    });
    expect(await refund(t.db, { holdId: 'hold_nope', actor: 'test' })).toEqual({
      ok: false,
      reason: 'HOLD_NOT_FOUND',
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 100n,
      heldMicroCents: 0n,
      activeJobs: 0,
    });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('replays a hold by key; a different amount under the same key is a conflict', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 100n });
    const args = {
      tenantId: tenant.id,
      amountMicroCents: 30n,
      idempotencyKey: `k-${tenant.id}`,
      actor: 'test',
    };
    const first = await hold(t.db, args);
    expect(await hold(t.db, args)).toEqual(first.ok ? { ...first, replayed: true } : first);
    expect(await hold(t.db, { ...args, amountMicroCents: 31n })).toEqual({
      ok: false,
      reason: 'IDEMPOTENCY_CONFLICT',
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: 70n,
      heldMicroCents: 30n,
    });
  });

  it('keeps amounts beyond 2^53 exact through hold, partial capture, refund', async () => {
    const big = 2n ** 60n + 7n;
    const tenant = await createTestTenant(t.db, { availableMicroCents: big });
    const h = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 2n ** 53n + 1n,
      idempotencyKey: `b-${tenant.id}`,
      actor: 'test',
    });
    expect(h).toMatchObject({
      ok: true,
      availableMicroCents: big - 2n ** 53n - 1n,
      heldMicroCents: 2n ** 53n + 1n,
    });
    if (!h.ok) throw new Error(h.reason);
    expect(
      await capture(t.db, { holdId: h.holdId, amountMicroCents: 2n ** 53n - 1n, actor: 'test' }),
    ).toMatchObject({
      ok: true,
      capturedMicroCents: 2n ** 53n - 1n,
      releasedMicroCents: 2n,
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({
      availableMicroCents: big - 2n ** 53n + 1n,
      heldMicroCents: 0n,
    });
    expect(await refund(t.db, { holdId: h.holdId, actor: 'test' })).toMatchObject({
      ok: true,
      refundedMicroCents: 2n ** 53n - 1n,
    });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({ availableMicroCents: big, heldMicroCents: 0n });
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });
});

describe('limits in the hold', () => {
  it('refuses a suspended or unknown tenant', async () => {
    const suspended = await createTestTenant(t.db, { availableMicroCents: 100n, status: 'suspended' });
    expect(
      await hold(t.db, {
        tenantId: suspended.id,
        amountMicroCents: 1n,
        idempotencyKey: `s-${suspended.id}`,
        actor: 't',
      }),
    ).toEqual({
      ok: false,
      reason: 'TENANT_SUSPENDED',
    });
    expect(
      await hold(t.db, { tenantId: 'ten_unknown', amountMicroCents: 1n, idempotencyKey: 'u', actor: 't' }),
    ).toEqual({
      ok: false,
      reason: 'TENANT_NOT_FOUND',
    });
  });

  it('caps concurrent holds under concurrency, and frees a slot on resolution', async () => {
    const tenant = await createTestTenant(t.db, {
      availableMicroCents: 1_000n,
      limits: { maxConcurrentJobs: 3 },
    });
    const pool = createDb(t.url, { max: 20 });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          hold(pool.db, {
            tenantId: tenant.id,
            amountMicroCents: 1n,
            idempotencyKey: `cc-${tenant.id}-${i}`,
            actor: 't',
          }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok)).toEqual(
        Array(17).fill({ ok: false, reason: 'CONCURRENT_JOBS_LIMIT', limit: 3 }),
      );
      const first = results.find((r) => r.ok);
      if (!first?.ok) throw new Error('no hold');
      await release(t.db, { holdId: first.holdId, actor: 't' });
      expect(
        await hold(t.db, {
          tenantId: tenant.id,
          amountMicroCents: 1n,
          idempotencyKey: `cc-${tenant.id}-after`,
          actor: 't',
        }),
      ).toMatchObject({ ok: true });
    } finally {
      await pool.close();
    }
    expect(await tenantIssues(tenant.id)).toEqual([]);
  });

  it('caps daily spend; released money is not spent', async () => {
    const tenant = await createTestTenant(t.db, {
      availableMicroCents: 10_000n,
      limits: { dailySpendLimitMicroCents: 1_000n },
    });
    const key = (s: string) => `d-${tenant.id}-${s}`;
    const a = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 600n,
      idempotencyKey: key('a'),
      actor: 't',
    });
    const b = await hold(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 401n,
      idempotencyKey: key('b'),
      actor: 't',
    });
    expect(b).toMatchObject({ ok: false, reason: 'DAILY_SPEND_LIMIT', limit: 1_000n });
    if (b.ok || b.reason !== 'DAILY_SPEND_LIMIT') throw new Error('expected a daily limit refusal');
    expect(b.retryAfterSeconds).toBeGreaterThan(0);
    expect(b.retryAfterSeconds).toBeLessThanOrEqual(86_400);
    expect(
      await hold(t.db, { tenantId: tenant.id, amountMicroCents: 400n, idempotencyKey: key('c'), actor: 't' }),
    ).toMatchObject({ ok: true });
    if (!a.ok) throw new Error(a.reason);
    await release(t.db, { holdId: a.holdId, actor: 't' });
    expect(await getAccount(t.db, tenant.id)).toMatchObject({ spentTodayMicroCents: 400n });
    expect(
      await hold(t.db, { tenantId: tenant.id, amountMicroCents: 600n, idempotencyKey: key('d'), actor: 't' }),
    ).toMatchObject({ ok: true });
  });

  it('caps requests per minute (fixed window on the DB clock)', async () => {
    // A minute boundary inside the loop would reset the window: retry the whole check once if so,
    // with a new tenant (the first attempt's holds already count in the new minute).
    for (let attempt = 0; attempt < 2; attempt++) {
      const tenant = await createTestTenant(t.db, { availableMicroCents: 10_000n });
      await updateTenant(t.db, { tenantId: tenant.id, limits: { requestsPerMinute: 5 }, actor: 't' });
      const [before] = await t.sql<{ m: string }[]>`SELECT date_trunc('minute', now())::text AS m`;
      const results = [];
      for (let i = 0; i < 7; i++) {
        results.push(
          await hold(t.db, {
            tenantId: tenant.id,
            amountMicroCents: 1n,
            idempotencyKey: `rpm-${tenant.id}-${attempt}-${i}`,
            actor: 't',
          }),
        );
      }
      const [after] = await t.sql<{ m: string }[]>`SELECT date_trunc('minute', now())::text AS m`;
      if (before?.m !== after?.m) continue;
      const refused = results.filter((r) => !r.ok);
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(refused).toHaveLength(2);
      for (const r of refused) {
        expect(r).toMatchObject({ ok: false, reason: 'RATE_LIMIT', limit: 5 });
        if (!r.ok && r.reason === 'RATE_LIMIT') {
          expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
          expect(r.retryAfterSeconds).toBeLessThanOrEqual(60);
        }
      }
      return;
    }
    throw new Error('crossed a minute boundary twice');
  });
});
