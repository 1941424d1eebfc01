import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTRPCError, type Harness, rowCounts, startHarness } from './harness.ts';
import { seedTopUps } from './ledger-seed.ts';

describe('admin.credits and admin.tenants', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('top-up: a replay credits once; the same key with another amount is CONFLICT and writes nothing', async () => {
    const { tenantId, client } = await h.createTenant();
    const args = { tenantId, amountMicroCents: 2_500_000, idempotencyKey: 'inv-7', reference: 'INV-7' };
    const first = await h.admin.admin.credits.topUp.mutate(args);
    expect(first).toMatchObject({ replayed: false, availableMicroCents: 2_500_000 });
    const again = await h.admin.admin.credits.topUp.mutate(args);
    expect(again).toEqual({ ...first, replayed: true });
    const before = await rowCounts(h.db);
    const e = await expectTRPCError(
      h.admin.admin.credits.topUp.mutate({ ...args, amountMicroCents: 2_500_001 }),
    );
    expect(e).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT', httpStatus: 409 });
    expect(await rowCounts(h.db)).toEqual(before);
    expect((await client.account.get.query()).availableMicroCents).toBe(2_500_000);
    await h.expectReconciled();
  });

  it('without an idempotencyKey, the same credit sent concurrently is applied once (key derived from what was asked)', async () => {
    const { tenantId, client } = await h.createTenant();
    const topUp = { tenantId, amountMicroCents: 1_000_000, reference: 'INV-derived' };
    // Eight identical top-ups at once (a retried request, a double click): one credit, seven replays.
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => h.admin.admin.credits.topUp.mutate(topUp)),
    );
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.transactionId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.idempotencyKey))).toEqual(
      new Set([expect.stringMatching(/^cli-topup-[0-9a-f]{32}$/)]),
    );
    // Another reference is another credit. (The same reference with another amount is a conflict:
    // the reference is the top-up's identity; see the next test.)
    await h.admin.admin.credits.topUp.mutate({ ...topUp, reference: 'INV-derived-2' });
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000 + 1_000_000);
    // A key the caller gives is used as is, and answered back.
    const keyed = await h.admin.admin.credits.topUp.mutate({
      ...topUp,
      reference: 'INV-keyed',
      idempotencyKey: 'my-key-1',
    });
    expect(keyed).toMatchObject({ replayed: false, idempotencyKey: 'my-key-1' });
    await h.expectReconciled();
  });

  it('a top-up reference is the top-up: same amount under any key is a replay, another amount is CONFLICT', async () => {
    const { tenantId, client } = await h.createTenant();
    const first = await h.admin.admin.credits.topUp.mutate({
      tenantId,
      amountMicroCents: 5_000_000,
      reference: 'PAY-42',
      idempotencyKey: 'pay-42-a',
    });
    // The same payment sent again under another key (or none): the original's answer, nothing credited.
    for (const idempotencyKey of ['pay-42-b', undefined]) {
      const again = await h.admin.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 5_000_000,
        reference: 'PAY-42',
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
      expect(again).toEqual({ ...first, replayed: true });
    }
    // The same reference with another amount: refused, nothing written (before: a second credit).
    const before = await rowCounts(h.db);
    for (const idempotencyKey of ['pay-42-c', undefined]) {
      const e = await expectTRPCError(
        h.admin.admin.credits.topUp.mutate({
          tenantId,
          amountMicroCents: 5_000_001,
          reference: 'PAY-42',
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        }),
      );
      expect(e).toMatchObject({ code: 'CONFLICT', reason: 'REFERENCE_CONFLICT', httpStatus: 409 });
      expect(e.details).toEqual({ transactionId: first.transactionId, amountMicroCents: 5_000_000 });
    }
    expect(await rowCounts(h.db)).toEqual(before);
    // Concurrent top-ups of one reference under eight keys: one credit.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.admin.admin.credits.topUp.mutate({
          tenantId,
          amountMicroCents: 700_000,
          reference: 'PAY-43',
          idempotencyKey: `pay-43-${i}`,
        }),
      ),
    );
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.transactionId)).size).toBe(1);
    // The reference belongs to one tenant: another tenant may use the same one.
    const other = await h.createTenant();
    await h.admin.admin.credits.topUp.mutate({
      tenantId: other.tenantId,
      amountMicroCents: 1,
      reference: 'PAY-42',
    });
    expect((await client.account.get.query()).availableMicroCents).toBe(5_000_000 + 700_000);
    await h.expectReconciled();
  });

  it('two identical adjustments without an idempotency key are two adjustments (a reason is not an identity)', async () => {
    const { tenantId, client } = await h.createTenant();
    await h.admin.admin.credits.topUp.mutate({
      tenantId,
      amountMicroCents: 3_000_000,
      reference: 'ADJ-base',
    });
    const adjustments = await Promise.all(
      Array.from({ length: 4 }, () =>
        h.admin.admin.credits.adjust.mutate({ tenantId, amountMicroCents: -500_000, reason: 'goodwill' }),
      ),
    );
    expect(adjustments.filter((a) => a.replayed)).toEqual([]);
    expect(new Set(adjustments.map((a) => a.transactionId)).size).toBe(4);
    expect(new Set(adjustments.map((a) => a.idempotencyKey)).size).toBe(4);
    expect((await client.account.get.query()).availableMicroCents).toBe(3_000_000 - 4 * 500_000);
    // Retrying with the key the answer gave is a replay: one adjustment.
    const key = adjustments[0]?.idempotencyKey ?? '';
    const retried = await h.admin.admin.credits.adjust.mutate({
      tenantId,
      amountMicroCents: -500_000,
      reason: 'goodwill',
      idempotencyKey: key,
    });
    expect(retried).toMatchObject({ replayed: true, transactionId: adjustments[0]?.transactionId });
    expect((await client.account.get.query()).availableMicroCents).toBe(1_000_000);
    await h.expectReconciled();
  });

  it('adjust: signed, idempotent; below zero is PRECONDITION_FAILED with nothing written', async () => {
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const down = await h.admin.admin.credits.adjust.mutate({
      tenantId,
      amountMicroCents: -400_000,
      idempotencyKey: 'adj-1',
      reason: 'refund for ticket 4411',
    });
    expect(down).toMatchObject({ replayed: false, availableMicroCents: 600_000 });
    const replay = await h.admin.admin.credits.adjust.mutate({
      tenantId,
      amountMicroCents: -400_000,
      idempotencyKey: 'adj-1',
      reason: 'refund for ticket 4411',
    });
    expect(replay).toEqual({ ...down, replayed: true });

    const before = await rowCounts(h.db);
    const e = await expectTRPCError(
      h.admin.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: '-600001',
        idempotencyKey: 'adj-2',
        reason: 'too much',
      }),
    );
    expect(e).toMatchObject({
      code: 'PRECONDITION_FAILED',
      reason: 'ADJUSTMENT_BELOW_ZERO',
      httpStatus: 412,
    });
    expect(e.details).toEqual({ availableMicroCents: 600_000, requiredMicroCents: 600_001 });
    expect(await rowCounts(h.db), 'nothing written').toEqual(before);
    // The refused key stays usable.
    const exact = await h.admin.admin.credits.adjust.mutate({
      tenantId,
      amountMicroCents: -600_000,
      idempotencyKey: 'adj-2',
      reason: 'to zero',
    });
    expect(exact.availableMicroCents).toBe(0);
    expect((await client.account.get.query()).availableMicroCents).toBe(0);
    const zero = await expectTRPCError(
      h.admin.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: 0,
        idempotencyKey: 'adj-3',
        reason: 'x',
      }),
    );
    expect(zero).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    await h.expectReconciled();
  });

  it('tenants: get/list with balances and filters, update (limits, webhook), suspend/reactivate', async () => {
    const name = `Acme-${Math.random().toString(36).slice(2, 8)}`;
    const t = await h.admin.admin.tenants.create.mutate({ name, markupBps: 250 });
    await h.admin.admin.credits.topUp.mutate({
      tenantId: t.id,
      amountMicroCents: 7_000_000,
      idempotencyKey: `t-${t.id}`,
      reference: 'x',
    });
    expect(await h.admin.admin.tenants.get.query({ tenantId: t.id })).toMatchObject({
      id: t.id,
      name,
      markupBps: 250,
      availableMicroCents: 7_000_000,
      heldMicroCents: 0,
      status: 'active',
    });
    const updated = await h.admin.admin.tenants.update.mutate({
      tenantId: t.id,
      limits: { maxConcurrentJobs: 2, dailySpendLimitMicroCents: 5_000_000 },
      webhookUrl: 'https://example.com/hook',
    });
    expect(updated).toMatchObject({
      limits: { maxConcurrentJobs: 2, dailySpendLimitMicroCents: 5_000_000, requestsPerMinute: null },
      webhookUrl: 'https://example.com/hook',
    });
    const cleared = await h.admin.admin.tenants.update.mutate({
      tenantId: t.id,
      limits: { maxConcurrentJobs: null },
      webhookUrl: null,
    });
    expect(cleared).toMatchObject({
      limits: { maxConcurrentJobs: null, dailySpendLimitMicroCents: 5_000_000 },
    });
    expect(cleared.webhookUrl).toBeNull();
    expect(await expectTRPCError(h.admin.admin.tenants.update.mutate({ tenantId: t.id }))).toMatchObject({
      code: 'BAD_REQUEST',
    });

    const byName = await h.admin.admin.tenants.list.query({ name: name.toLowerCase() });
    expect(byName.items.map((i) => i.id)).toEqual([t.id]);
    expect(byName.items[0]).toMatchObject({ availableMicroCents: 7_000_000 });

    await h.admin.admin.tenants.suspend.mutate({ tenantId: t.id, reason: 'chargeback' });
    const suspended = await h.admin.admin.tenants.list.query({ status: 'suspended', limit: 100 });
    expect(suspended.items.map((i) => i.id)).toContain(t.id);
    const active = await h.admin.admin.tenants.list.query({ status: 'active', limit: 100 });
    expect(active.items.map((i) => i.id)).not.toContain(t.id);
    expect(await expectTRPCError(h.admin.admin.tenants.issueToken.mutate({ tenantId: t.id }))).toMatchObject({
      code: 'PRECONDITION_FAILED',
      reason: 'TENANT_SUSPENDED',
    });
    await h.admin.admin.tenants.reactivate.mutate({ tenantId: t.id });
    const issued = await h.admin.admin.tenants.issueToken.mutate({ tenantId: t.id, ttlSeconds: 120 });
    const ttl = Date.parse(issued.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
    expect(
      await expectTRPCError(
        // @ts-expect-error the old name is not accepted any more
        h.admin.admin.tenants.issueToken.mutate({ tenantId: t.id, expiresInSeconds: 120 }),
      ),
    ).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });

    const rich = await h.admin.admin.tenants.list.query({ minAvailableMicroCents: 7_000_000, limit: 100 });
    expect(rich.items.every((i) => i.availableMicroCents >= 7_000_000)).toBe(true);
    expect(rich.items.map((i) => i.id)).toContain(t.id);

    const page1 = await h.admin.admin.tenants.list.query({ limit: 1 });
    expect(page1.items).toHaveLength(1);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await h.admin.admin.tenants.list.query({ limit: 1, cursor: page1.nextCursor ?? '' });
    expect(page2.items[0]?.id).not.toBe(page1.items[0]?.id);
    for (const badCursor of ['not-a-cursor', Buffer.from('["yesterday","x"]').toString('base64url')]) {
      expect(
        await expectTRPCError(h.admin.admin.tenants.list.query({ limit: 1, cursor: badCursor })),
      ).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_CURSOR' });
      expect(
        await expectTRPCError(h.admin.admin.jobs.list.query({ limit: 1, cursor: badCursor })),
      ).toMatchObject({
        code: 'BAD_REQUEST',
        reason: 'INVALID_CURSOR',
      });
    }

    expect(await expectTRPCError(h.admin.admin.tenants.get.query({ tenantId: 'ten_missing' }))).toMatchObject(
      { code: 'NOT_FOUND', reason: 'TENANT_NOT_FOUND' },
    );
  });

  it('issueToken explains itself when the gateway has no JWT_SECRET (JWKS only)', async () => {
    const { tenantId } = await h.createTenant();
    const jwt = h.gateway.deps.config.jwt;
    const secret = jwt.signingSecret;
    jwt.signingSecret = undefined;
    try {
      const e = await expectTRPCError(h.admin.admin.tenants.issueToken.mutate({ tenantId }));
      expect(e).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'TOKEN_SIGNING_UNAVAILABLE' });
      expect(e.message).toContain('identity provider');
    } finally {
      jwt.signingSecret = secret;
    }
  });
});

describe('admin.credits: one refusal mapping for topUp and adjust', () => {
  // Own database: a tenant near the bigint range would break other tests' unsafe-integer reads.
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('topUp and adjust answer the same ledger refusal identically (one mapping), writing nothing', async () => {
    const { tenantId } = await h.createTenant();
    await h.admin.admin.credits.adjust.mutate({
      tenantId,
      amountMicroCents: 100,
      idempotencyKey: 'shared-1',
      reason: 'goodwill',
    });
    const before = await rowCounts(h.db);
    // One key namespace: the key of an adjustment refused by a top-up, and by another adjustment.
    const viaTopUp = await expectTRPCError(
      h.admin.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 100,
        idempotencyKey: 'shared-1',
        reference: 'INV-1',
      }),
    );
    const viaAdjust = await expectTRPCError(
      h.admin.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: 200,
        idempotencyKey: 'shared-1',
        reason: 'goodwill',
      }),
    );
    const answer = (e: { code: string; reason: string; httpStatus: number; message: string }) => ({
      code: e.code,
      reason: e.reason,
      httpStatus: e.httpStatus,
      message: e.message,
    });
    expect(viaTopUp).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT', httpStatus: 409 });
    expect(answer(viaTopUp)).toEqual(answer(viaAdjust));
    expect(viaTopUp.message).toContain('credit operation');

    // A credit that would push the tenant's money past what the wire carries exactly (2^53 − 1; a
    // balance above it could never be answered): same answer too, refused before anything is written.
    // Test arrangement: one balanced seeded top-up just under it (reconcile stays clean).
    const { tenantId: rich } = await h.createTenant();
    await seedTopUps(h.db.sql, {
      tenantId: rich,
      transactions: 1,
      amountMicroCents: BigInt(Number.MAX_SAFE_INTEGER) - 1_000n,
    });
    const countsRich = await rowCounts(h.db);
    const overTopUp = await expectTRPCError(
      h.admin.admin.credits.topUp.mutate({
        tenantId: rich,
        amountMicroCents: 1_001,
        idempotencyKey: 'over-1',
        reference: 'INV-2',
      }),
    );
    const overAdjust = await expectTRPCError(
      h.admin.admin.credits.adjust.mutate({
        tenantId: rich,
        amountMicroCents: 1_001,
        idempotencyKey: 'over-2',
        reason: 'bonus',
      }),
    );
    expect(overTopUp).toMatchObject({ code: 'BAD_REQUEST', reason: 'AMOUNT_OUT_OF_RANGE', httpStatus: 400 });
    expect(answer(overTopUp)).toEqual(answer(overAdjust));
    expect(await rowCounts(h.db), 'nothing written').toEqual(countsRich);
    expect(await rowCounts(h.db)).not.toEqual(before); // (sanity: the seed did write)
    // Up to the ceiling exactly is fine, and answered exactly.
    const toTheCeiling = await h.admin.admin.credits.topUp.mutate({
      tenantId: rich,
      amountMicroCents: 1_000,
      reference: 'INV-3',
    });
    expect(toTheCeiling.availableMicroCents).toBe(Number.MAX_SAFE_INTEGER);
    expect((await h.admin.admin.tenants.get.query({ tenantId: rich })).availableMicroCents).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    await h.expectReconciled();
  });
});
