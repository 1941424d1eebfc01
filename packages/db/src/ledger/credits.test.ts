import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../schema';
import { createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { adjust, getAccount, reconcile, topUp } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

async function ledgerCounts(tenantId: string) {
  const [row] = await t.sql<{ txns: bigint; lines: bigint }[]>`
    SELECT (SELECT count(*) FROM ledger_transactions WHERE tenant_id = ${tenantId}) AS txns,
           (SELECT count(*) FROM ledger_lines l JOIN ledger_transactions x ON x.id = l.transaction_id
             WHERE x.tenant_id = ${tenantId}) AS lines`;
  return { txns: Number(row?.txns), lines: Number(row?.lines) };
}

describe('topUp', () => {
  it('credits once when replayed with the same key and arguments', async () => {
    const tenant = await createTestTenant(t.db);
    const args = {
      tenantId: tenant.id,
      amountMicroCents: 5_000_000n,
      idempotencyKey: 'pay-1',
      reference: 'inv-1',
      actor: 'admin',
    };
    const first = await topUp(t.db, args);
    const replays = await Promise.all([topUp(t.db, args), topUp(t.db, args), topUp(t.db, args)]);
    expect(first).toEqual({
      ok: true,
      transactionId: expect.stringMatching(/^txn_/),
      replayed: false,
      availableMicroCents: 5_000_000n,
      idempotencyKey: 'pay-1',
    });
    for (const r of replays) {
      expect(r, 'replay returns the original result').toEqual({ ...first, replayed: true });
    }
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(5_000_000n);
    expect(await ledgerCounts(tenant.id)).toEqual({ txns: 1, lines: 2 });
  });

  it('concurrent first use of one key credits exactly once', async () => {
    const tenant = await createTestTenant(t.db);
    const args = {
      tenantId: tenant.id,
      amountMicroCents: 7n,
      idempotencyKey: `race-${tenant.id}`,
      reference: 'r',
      actor: 'admin',
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => topUp(t.db, args)));
    expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(7n);
  });

  it('same key with a different amount is a conflict and writes nothing', async () => {
    const tenant = await createTestTenant(t.db);
    const key = `pay-${tenant.id}`;
    await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 100n,
      idempotencyKey: key,
      reference: 'a',
      actor: 'admin',
    });
    const auditBefore = await t.db.select().from(auditLog).where(eq(auditLog.targetId, tenant.id));
    const conflict = await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 101n,
      idempotencyKey: key,
      reference: 'a',
      actor: 'admin',
    });
    expect(conflict).toEqual({ ok: false, reason: 'IDEMPOTENCY_CONFLICT' });
    const otherRef = await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 100n,
      idempotencyKey: key,
      reference: 'b',
      actor: 'admin',
    });
    expect(otherRef).toEqual({ ok: false, reason: 'IDEMPOTENCY_CONFLICT' });
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(100n);
    expect(await ledgerCounts(tenant.id)).toEqual({ txns: 1, lines: 2 });
    expect(await t.db.select().from(auditLog).where(eq(auditLog.targetId, tenant.id))).toHaveLength(
      auditBefore.length,
    );
  });

  it('rejects bad amounts and unknown tenants without writing', async () => {
    const tenant = await createTestTenant(t.db);
    const base = { tenantId: tenant.id, idempotencyKey: `bad-${tenant.id}`, reference: 'x', actor: 'admin' };
    expect(await topUp(t.db, { ...base, amountMicroCents: 0n })).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
    expect(await topUp(t.db, { ...base, amountMicroCents: -5n })).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
    expect(await topUp(t.db, { ...base, amountMicroCents: 2n ** 63n })).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
    expect(await topUp(t.db, { ...base, amountMicroCents: 5 as unknown as bigint })).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
    expect(await topUp(t.db, { ...base, tenantId: 'ten_missing', amountMicroCents: 5n })).toEqual({
      ok: false,
      reason: 'TENANT_NOT_FOUND',
    });
    expect(await ledgerCounts(tenant.id)).toEqual({ txns: 0, lines: 0 });
  });

  it('keeps amounts beyond 2^53 exact, and refuses a balance beyond the bigint range', async () => {
    const tenant = await createTestTenant(t.db);
    const big = 2n ** 53n + 1n; // not representable as a JS number
    const r1 = await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: big,
      idempotencyKey: `big1-${tenant.id}`,
      reference: 'x1',
      actor: 'a',
    });
    const r2 = await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 2n ** 62n + 3n,
      idempotencyKey: `big2-${tenant.id}`,
      reference: 'x2',
      actor: 'a',
    });
    expect(r1).toMatchObject({ ok: true, availableMicroCents: big });
    expect(r2).toMatchObject({ ok: true, availableMicroCents: big + 2n ** 62n + 3n });
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(2n ** 62n + 2n ** 53n + 4n);
    const over = await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 2n ** 62n,
      idempotencyKey: `big3-${tenant.id}`,
      reference: 'x3',
      actor: 'a',
    });
    expect(over).toEqual({ ok: false, reason: 'AMOUNT_OUT_OF_RANGE' });
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(2n ** 62n + 2n ** 53n + 4n);
    expect((await reconcile(t.db)).discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
  });
});

describe('adjust', () => {
  it('credits and debits, never below zero, without partial writes', async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const up = await adjust(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 500n,
      idempotencyKey: `adj1-${tenant.id}`,
      reason: 'goodwill',
      actor: 'admin',
    });
    expect(up).toMatchObject({ ok: true, replayed: false, availableMicroCents: 1_500n });
    const down = await adjust(t.db, {
      tenantId: tenant.id,
      amountMicroCents: -1_200n,
      idempotencyKey: `adj2-${tenant.id}`,
      reason: 'correction',
      actor: 'admin',
    });
    expect(down).toMatchObject({ ok: true, availableMicroCents: 300n });
    const before = await ledgerCounts(tenant.id);
    const tooMuch = await adjust(t.db, {
      tenantId: tenant.id,
      amountMicroCents: -301n,
      idempotencyKey: `adj3-${tenant.id}`,
      reason: 'oops',
      actor: 'admin',
    });
    expect(tooMuch).toEqual({
      ok: false,
      reason: 'INSUFFICIENT_BALANCE',
      availableMicroCents: 300n,
      requiredMicroCents: 301n,
    });
    expect(await ledgerCounts(tenant.id)).toEqual(before);
    expect((await getAccount(t.db, tenant.id))?.availableMicroCents).toBe(300n);
    // The refused key was not consumed: it can be used once the balance allows it.
    const later = await adjust(t.db, {
      tenantId: tenant.id,
      amountMicroCents: -300n,
      idempotencyKey: `adj3-${tenant.id}`,
      reason: 'oops',
      actor: 'admin',
    });
    expect(later).toMatchObject({ ok: true, availableMicroCents: 0n });
    expect(
      await adjust(t.db, {
        tenantId: tenant.id,
        amountMicroCents: 0n,
        idempotencyKey: `adj4-${tenant.id}`,
        reason: 'zero',
        actor: 'admin',
      }),
    ).toEqual({
      ok: false,
      reason: 'INVALID_AMOUNT',
    });
  });

  it('shares the idempotency namespace with top-ups: reusing a top-up key is a conflict', async () => {
    const tenant = await createTestTenant(t.db);
    const key = `shared-${tenant.id}`;
    await topUp(t.db, {
      tenantId: tenant.id,
      amountMicroCents: 10n,
      idempotencyKey: key,
      reference: 'r',
      actor: 'a',
    });
    expect(
      await adjust(t.db, {
        tenantId: tenant.id,
        amountMicroCents: 10n,
        idempotencyKey: key,
        reason: 'r',
        actor: 'a',
      }),
    ).toEqual({
      ok: false,
      reason: 'IDEMPOTENCY_CONFLICT',
    });
  });
});
