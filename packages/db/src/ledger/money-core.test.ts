import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestTenant, openTestJob, type TestDatabase } from '../testing';
import { captureJob, reconcile, resolveJob } from './index';
import { canonicalJson, fingerprintOf, rows } from './internal';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.close();
});

describe('money core: one implementation per movement', () => {
  it('tollgate_fingerprint builds the fingerprints already stored (canonical JSON of each op)', async () => {
    const cases = [
      ['hold', 'job_abc', 123n, { op: 'hold', jobId: 'job_abc', amountMicroCents: 123n }],
      [
        'bare_hold',
        'ten_abc',
        9_223_372_036_854_775_807n,
        { op: 'hold', tenantId: 'ten_abc', amountMicroCents: 9_223_372_036_854_775_807n },
      ],
      ['capture', 'hold_abc', 0n, { op: 'capture', holdId: 'hold_abc', capturedMicroCents: 0n }],
      ['release', 'hold_abc', null, { op: 'release', holdId: 'hold_abc' }],
      ['refund', 'hold_abc', null, { op: 'refund', holdId: 'hold_abc' }],
    ] as const;
    for (const [op, subject, amount, expected] of cases) {
      expect(await fingerprintOf(t.db, op, subject, amount), op).toBe(canonicalJson(expected));
    }
  });

  it("canonicalJson (the gateway's request fingerprints and the ledger's): sorted keys at every depth, bigints as strings", () => {
    expect(canonicalJson({ b: 1n, a: [{ d: 2, c: undefined }, 'x'], e: null, c: { z: true, y: 'é' } })).toBe(
      '{"a":[{"d":2},"x"],"b":"1","c":{"y":"é","z":true},"e":null}',
    );
  });

  it('tollgate_hold_refusal: the checks in their documented order', async () => {
    // status, rpm, max concurrent, daily limit, window count, active jobs, spent today, available, amount
    const cases: [unknown[], string | null][] = [
      [['active', null, null, null, 0, 0, 0n, 10n, 10n], null],
      [['suspended', 1, 1, 0n, 5, 5, 5n, 0n, 10n], 'TENANT_SUSPENDED'],
      [['active', 1, 1, 0n, 1, 5, 5n, 0n, 10n], 'RATE_LIMIT'],
      [['active', 2, 1, 0n, 1, 1, 5n, 0n, 10n], 'CONCURRENT_JOBS_LIMIT'],
      [['active', 2, 2, 14n, 1, 1, 5n, 0n, 10n], 'DAILY_SPEND_LIMIT'],
      [['active', 2, 2, 15n, 1, 1, 5n, 9n, 10n], 'INSUFFICIENT_BALANCE'],
      [['active', 2, 2, 15n, 1, 1, 5n, 10n, 10n], null],
    ];
    for (const [args, expected] of cases) {
      const [row] = await rows<{ reason: string | null }>(
        t.db,
        sql`SELECT tollgate_hold_refusal(${args[0]}, ${args[1]}::int, ${args[2]}::int, ${args[3]}::bigint,
          ${args[4]}::int, ${args[5]}::int, ${args[6]}::bigint, ${args[7]}::bigint, ${args[8]}::bigint) AS reason`,
      );
      expect(
        row?.reason ?? null,
        JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ).toBe(expected);
    }
  });

  it("admin resolve charges through submit's capture: the same transaction shape and fingerprint", async () => {
    const tenant = await createTestTenant(t.db, { availableMicroCents: 1_000n });
    const submitted = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 400n });
    await captureJob(t.db, {
      jobId: submitted.id,
      upstreamJobId: 'up_money_core_1',
      upstreamCostMicroCents: 300n,
      estimatedCompletionTime: null,
    });
    const resolved = await openTestJob(t.db, { tenantId: tenant.id, quoteMicroCents: 250n });
    const r = await resolveJob(t.db, {
      jobId: resolved.id,
      decision: 'charge',
      reason: 'seen upstream',
      actor: 'opk_test',
    });
    expect(r.ok).toBe(true);
    const shape = async (holdId: string) =>
      rows<{ fp: string; account: string; amount: bigint }>(
        t.db,
        sql`SELECT x.request_fingerprint AS fp, l.account::text AS account, l.amount_micro_cents AS amount
              FROM ledger_transactions x JOIN ledger_lines l ON l.transaction_id = x.id
             WHERE x.idempotency_key = ${`capture:${holdId}`} ORDER BY l.id`,
      );
    expect(await shape(submitted.holdId)).toEqual([
      {
        fp: canonicalJson({ op: 'capture', holdId: submitted.holdId, capturedMicroCents: 400n }),
        account: 'tenant_held',
        amount: -400n,
      },
      {
        fp: canonicalJson({ op: 'capture', holdId: submitted.holdId, capturedMicroCents: 400n }),
        account: 'platform_revenue',
        amount: 400n,
      },
    ]);
    expect(await shape(resolved.holdId)).toEqual([
      {
        fp: canonicalJson({ op: 'capture', holdId: resolved.holdId, capturedMicroCents: 250n }),
        account: 'tenant_held',
        amount: -250n,
      },
      {
        fp: canonicalJson({ op: 'capture', holdId: resolved.holdId, capturedMicroCents: 250n }),
        account: 'platform_revenue',
        amount: 250n,
      },
    ]);
    const report = await reconcile(t.db);
    expect(report.discrepancies.filter((d) => d.tenantId === tenant.id)).toEqual([]);
  });
});
