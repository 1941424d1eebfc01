import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, type TestDatabase } from '../testing';
import { capture, hold, refund, release } from '../testing/bare-holds';
import { adjust, getAccount, reconcile, topUp } from './index';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

type Op =
  | { type: 'topUp'; amount: bigint; reuse: number | null; sameArgs: boolean }
  | { type: 'adjust'; amount: bigint }
  | { type: 'hold'; amount: bigint }
  | { type: 'capture'; index: number; quarters: number | null }
  | { type: 'release'; index: number }
  | { type: 'refund'; index: number };

// Top-ups stay ≤ 2^56 so 40 steps never reach the bigint range; small amounts make refusals likely.
const amount = fc.oneof(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 2n ** 56n }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    type: fc.constant('topUp' as const),
    amount,
    reuse: fc.option(fc.nat(), { nil: null }),
    sameArgs: fc.boolean(),
  }),
  fc.record({ type: fc.constant('adjust' as const), amount: amount.chain((a) => fc.constantFrom(a, -a)) }),
  fc.record({ type: fc.constant('hold' as const), amount }),
  fc.record({ type: fc.constant('hold' as const), amount }),
  fc.record({
    type: fc.constant('capture' as const),
    index: fc.nat(),
    quarters: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
  }),
  fc.record({ type: fc.constant('release' as const), index: fc.nat() }),
  fc.record({ type: fc.constant('refund' as const), index: fc.nat() }),
);

interface ModelHold {
  id: string;
  amount: bigint;
  status: 'open' | 'captured' | 'released';
  captured: bigint;
  refunded: boolean;
}

/** Runs `ops` against a fresh tenant and an in-memory model; checks outcome and balances after every step. */
async function runAgainstModel(ops: Op[]): Promise<void> {
  const tenant = await createTestTenant(t.db);
  const m = { available: 0n, held: 0n, holds: [] as ModelHold[] };
  const topUps: { key: string; amount: bigint; availableAfter: bigint }[] = [];
  let seq = 0;
  const key = () => `${tenant.id}-${seq++}`;

  for (const [step, o] of ops.entries()) {
    let expected: unknown;
    let actual: unknown;
    switch (o.type) {
      case 'topUp': {
        const prior = o.reuse === null || topUps.length === 0 ? undefined : topUps[o.reuse % topUps.length];
        if (prior) {
          const amt = o.sameArgs ? prior.amount : prior.amount + 1n;
          actual = await topUp(t.db, {
            tenantId: tenant.id,
            amountMicroCents: amt,
            idempotencyKey: prior.key,
            reference: prior.key,
            actor: 'model',
          });
          expected = o.sameArgs
            ? { ok: true, replayed: true, availableMicroCents: prior.availableAfter }
            : { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
        } else {
          const k = key();
          actual = await topUp(t.db, {
            tenantId: tenant.id,
            amountMicroCents: o.amount,
            idempotencyKey: k,
            // One reference per top-up: a reference names one top-up (another amount is a conflict).
            reference: k,
            actor: 'model',
          });
          m.available += o.amount;
          topUps.push({ key: k, amount: o.amount, availableAfter: m.available });
          expected = { ok: true, replayed: false, availableMicroCents: m.available };
        }
        break;
      }
      case 'adjust': {
        actual = await adjust(t.db, {
          tenantId: tenant.id,
          amountMicroCents: o.amount,
          idempotencyKey: key(),
          reason: 'm',
          actor: 'model',
        });
        if (m.available + o.amount < 0n) {
          expected = {
            ok: false,
            reason: 'INSUFFICIENT_BALANCE',
            availableMicroCents: m.available,
            requiredMicroCents: -o.amount,
          };
        } else {
          m.available += o.amount;
          expected = { ok: true, replayed: false, availableMicroCents: m.available };
        }
        break;
      }
      case 'hold': {
        const r = await hold(t.db, {
          tenantId: tenant.id,
          amountMicroCents: o.amount,
          idempotencyKey: key(),
          actor: 'model',
        });
        actual = r;
        if (o.amount > m.available) {
          expected = {
            ok: false,
            reason: 'INSUFFICIENT_BALANCE',
            requiredMicroCents: o.amount,
            availableMicroCents: m.available,
          };
        } else {
          m.available -= o.amount;
          m.held += o.amount;
          if (r.ok)
            m.holds.push({ id: r.holdId, amount: o.amount, status: 'open', captured: 0n, refunded: false });
          expected = { ok: true, replayed: false, availableMicroCents: m.available, heldMicroCents: m.held };
        }
        break;
      }
      case 'capture': {
        const h = m.holds[o.index % Math.max(1, m.holds.length)];
        if (!h) {
          actual = await capture(t.db, { holdId: 'hold_none', actor: 'model' });
          expected = { ok: false, reason: 'HOLD_NOT_FOUND' };
          break;
        }
        const amt = o.quarters === null ? undefined : (h.amount * BigInt(o.quarters)) / 4n;
        actual = await capture(t.db, {
          holdId: h.id,
          ...(amt === undefined ? {} : { amountMicroCents: amt }),
          actor: 'model',
        });
        const effective = amt ?? h.amount;
        if (h.status === 'open') {
          h.status = 'captured';
          h.captured = effective;
          m.held -= h.amount;
          m.available += h.amount - effective;
          expected = {
            ok: true,
            replayed: false,
            capturedMicroCents: effective,
            releasedMicroCents: h.amount - effective,
          };
        } else if (h.status === 'captured') {
          expected =
            effective === h.captured
              ? {
                  ok: true,
                  replayed: true,
                  capturedMicroCents: h.captured,
                  releasedMicroCents: h.amount - h.captured,
                }
              : { ok: false, reason: 'IDEMPOTENCY_CONFLICT' };
        } else {
          expected = { ok: false, reason: 'HOLD_ALREADY_RESOLVED', status: 'released' };
        }
        break;
      }
      case 'release': {
        const h = m.holds[o.index % Math.max(1, m.holds.length)];
        if (!h) {
          actual = await release(t.db, { holdId: 'hold_none', actor: 'model' });
          expected = { ok: false, reason: 'HOLD_NOT_FOUND' };
          break;
        }
        actual = await release(t.db, { holdId: h.id, actor: 'model' });
        if (h.status === 'open') {
          h.status = 'released';
          m.held -= h.amount;
          m.available += h.amount;
          expected = { ok: true, replayed: false, releasedMicroCents: h.amount };
        } else if (h.status === 'released') {
          expected = { ok: true, replayed: true, releasedMicroCents: h.amount };
        } else {
          expected = { ok: false, reason: 'HOLD_ALREADY_RESOLVED', status: 'captured' };
        }
        break;
      }
      case 'refund': {
        const h = m.holds[o.index % Math.max(1, m.holds.length)];
        if (!h) {
          actual = await refund(t.db, { holdId: 'hold_none', actor: 'model' });
          expected = { ok: false, reason: 'HOLD_NOT_FOUND' };
          break;
        }
        actual = await refund(t.db, { holdId: h.id, actor: 'model' });
        if (h.status !== 'captured') {
          expected = { ok: false, reason: 'HOLD_NOT_CAPTURED', status: h.status };
        } else if (h.refunded) {
          expected = { ok: true, replayed: true, refundedMicroCents: h.captured };
        } else if (h.captured === 0n) {
          expected = { ok: false, reason: 'NOTHING_TO_REFUND' };
        } else {
          h.refunded = true;
          m.available += h.captured;
          expected = { ok: true, replayed: false, refundedMicroCents: h.captured };
        }
        break;
      }
      default: {
        const never: never = o;
        throw new Error(`unknown op ${JSON.stringify(never)}`);
      }
    }
    const context = `step ${step}: ${JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    expect(actual, context).toMatchObject(expected as object);
    const account = await getAccount(t.db, tenant.id);
    expect({ available: account?.availableMicroCents, held: account?.heldMicroCents }, context).toEqual({
      available: m.available,
      held: m.held,
    });
  }
  const issues = (await reconcile(t.db)).discrepancies.filter((d) => d.tenantId === tenant.id);
  expect(issues, 'reconcile after the sequence').toEqual([]);
}

describe('ledger against an in-memory model', () => {
  it('random top-up/hold/capture/release/refund/adjust sequences keep the DB equal to the model', async () => {
    const seed = Number(process.env.TOLLGATE_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
    try {
      await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), runAgainstModel), {
        seed,
        numRuns: Number(process.env.TOLLGATE_MODEL_RUNS ?? 25),
        endOnFailure: process.env.TOLLGATE_MODEL_SHRINK !== '1',
      });
    } catch (err) {
      throw new Error(
        `model test failed with seed ${seed} (rerun with TOLLGATE_MODEL_SEED=${seed}, add TOLLGATE_MODEL_SHRINK=1 to shrink)\n${err instanceof Error ? err.message : String(err)}`,
      );
    }
  });
});
