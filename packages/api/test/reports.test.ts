import { expireOverdueJob } from '@tollgate/db/ledger';
import { formatUsd } from '@tollgate/pricing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvRecord, csvText } from '../src/reports/csv.ts';
import { LEDGER_CSV_COLUMNS, usageCsvHeader, usdSql } from '../src/reports/routes.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from './harness.ts';

type Row = Record<string, string>;

describe('finance reports equal the ledger to the micro-cent', () => {
  let h: Harness;
  let period: { from: string; to: string };
  let financeToken: string;
  let ledger: {
    charged: bigint;
    refunded: bigint;
    net: bigint;
    byAccount: Map<string, bigint>;
    lines: number;
  };
  const MARKUP_PRICE = 50_000; // CHEAP_PRICE × 1.25

  beforeAll(async () => {
    h = await startHarness();
    // Usage periods are whole UTC days (the roll-up's grain): the period is the days this test runs
    // on (its database is fresh, so they hold exactly what it writes).
    const [start] = await h.db.sql<{ day: Date }[]>`SELECT date_trunc('day', now(), 'UTC') AS day`;
    const a = await h.createTenant({ balanceMicroCents: 2_000_000 });
    const b = await h.createTenant({ balanceMicroCents: 2_000_000, markupBps: 2_500 });
    await h.admin.admin.credits.topUp.mutate({
      tenantId: a.tenantId,
      amountMicroCents: 1_000_001,
      idempotencyKey: 'rep-top',
      reference: 'INV "42", part 1',
    });
    await h.admin.admin.credits.adjust.mutate({
      tenantId: b.tenantId,
      amountMicroCents: -3,
      idempotencyKey: 'rep-adj',
      reason: 'rounding, per "policy"\nline two',
    });
    // Text a spreadsheet would evaluate: the CSVs must neutralise it (leading ').
    await h.admin.admin.credits.topUp.mutate({
      tenantId: b.tenantId,
      amountMicroCents: 7,
      idempotencyKey: 'rep-formula-top',
      reference: '=HYPERLINK("http://evil.example","click")',
    });
    await h.admin.admin.credits.adjust.mutate({
      tenantId: a.tenantId,
      amountMicroCents: -5,
      idempotencyKey: 'rep-formula-adj',
      reason: '-5+cmd|"/c calc"!A1',
    });

    const waitStatus = (client: typeof a.client, id: string, status: string) =>
      waitFor(
        async () => {
          const j = await client.jobs.get.query({ id });
          return j.status === status ? j : null;
        },
        { what: `job ${id} → ${status}` },
      );
    // completed (tagged), failed, cancelled, rejected for tenant A; completed + failed for B (markup).
    const done = await a.client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      tags: ['blue', 'x,y', '@SUM(1)'],
    });
    await h.sim.control.advance(done.upstreamJobId ?? '', 'completed');
    await waitStatus(a.client, done.id, 'completed');
    const failed = await a.client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      tags: ['blue'],
    });
    h.sim.control.setOutcome('failed', { jobId: failed.upstreamJobId ?? '' });
    await h.sim.control.advance(failed.upstreamJobId ?? '', 'failed');
    await waitStatus(a.client, failed.id, 'failed');
    const cancelled = await a.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await a.client.jobs.cancel.mutate({ id: cancelled.id });
    await waitStatus(a.client, cancelled.id, 'cancelled');
    h.sim.control.failNextSubmits({ code: 'INVALID_INPUT', status: 400, count: 1 });
    await expectTRPCError(a.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    const bDone = await b.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await h.sim.control.advance(bDone.upstreamJobId ?? '', 'completed');
    await waitStatus(b.client, bDone.id, 'completed');
    const bFailed = await b.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    h.sim.control.setOutcome('failed', { jobId: bFailed.upstreamJobId ?? '' });
    await h.sim.control.advance(bFailed.upstreamJobId ?? '', 'failed');
    await waitStatus(b.client, bFailed.id, 'failed');
    await h.expectReconciled();

    const [end] = await h.db.sql<
      { day: Date }[]
    >`SELECT date_trunc('day', now(), 'UTC') + interval '1 day' AS day`;
    period = { from: new Date(start?.day ?? 0).toISOString(), to: new Date(end?.day ?? 0).toISOString() };

    // The ledger's own sums for the period, straight from the lines.
    const sums = await h.db.sql<{ kind: string; account: string; total: string; n: string }[]>`
      SELECT t.kind::text AS kind, l.account::text AS account, sum(l.amount_micro_cents)::text AS total, count(*)::text AS n
        FROM ledger_lines l JOIN ledger_transactions t ON t.id = l.transaction_id
       WHERE l.created_at >= ${period.from}::timestamptz AND l.created_at < ${period.to}::timestamptz
       GROUP BY 1, 2`;
    const get = (kind: string, account: string) =>
      BigInt(sums.find((s) => s.kind === kind && s.account === account)?.total ?? '0');
    const byAccount = new Map<string, bigint>();
    for (const s of sums) byAccount.set(s.account, (byAccount.get(s.account) ?? 0n) + BigInt(s.total));
    ledger = {
      charged: get('capture', 'platform_revenue'),
      refunded: -get('refund', 'platform_revenue'),
      net: byAccount.get('platform_revenue') ?? 0n,
      byAccount,
      lines: sums.reduce((n, s) => n + Number(s.n), 0),
    };
    financeToken = await h.token({ role: 'finance', sub: 'finance-bob' });
  }, 120_000);
  afterAll(async () => {
    await h.close();
  });

  it('the scripted mix is what we think it is (3 + 2 charged, 1 + 1 + 1 refunded)', () => {
    expect(ledger.charged).toBe(BigInt(3 * CHEAP_PRICE + 2 * MARKUP_PRICE));
    expect(ledger.refunded).toBe(BigInt(2 * CHEAP_PRICE + MARKUP_PRICE));
    expect(ledger.net).toBe(ledger.charged - ledger.refunded);
  });

  it('finance.usage: totals and row sums equal the ledger; counts by status; margin = net − upstream', async () => {
    const finance = makeClient(h.url, financeToken);
    const r = await finance.finance.usage.query({ ...period, groupBy: ['tenant', 'model', 'day'] });
    expect(BigInt(r.totals.chargedMicroCentsExact)).toBe(ledger.charged);
    expect(BigInt(r.totals.refundedMicroCentsExact)).toBe(ledger.refunded);
    expect(BigInt(r.totals.netMicroCentsExact)).toBe(ledger.net);
    expect(r.totals).toMatchObject({
      jobs: 6,
      completedJobs: 2,
      failedJobs: 2,
      cancelledJobs: 1,
      rejectedJobs: 1,
      inFlightJobs: 0,
    });
    // Pixelbyte charged list price for the 5 accepted jobs and refunded the 3 failed/cancelled ones.
    expect(r.totals.upstreamCostMicroCents).toBe(2 * CHEAP_PRICE);
    expect(r.totals.marginMicroCents).toBe(
      Number(r.totals.netMicroCents) - Number(r.totals.upstreamCostMicroCents),
    );
    // Two tenants, one model: one row each per day (two days if the scripted mix crossed midnight).
    expect(new Set(r.rows.map((row) => row.tenantId)).size).toBe(2);
    expect(r.rows.length === 2 || new Set(r.rows.map((row) => row.day)).size === 2).toBe(true);
    const sum = (k: 'chargedMicroCentsExact' | 'refundedMicroCentsExact' | 'netMicroCentsExact' | 'jobs') =>
      r.rows.reduce((s, row) => s + BigInt(row[k]), 0n);
    expect(sum('chargedMicroCentsExact')).toBe(ledger.charged);
    expect(sum('refundedMicroCentsExact')).toBe(ledger.refunded);
    expect(sum('netMicroCentsExact')).toBe(ledger.net);
    expect(sum('jobs')).toBe(6n);
    for (const row of r.rows) {
      expect(row.model).toBe(CHEAP_MODEL);
      expect(row.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(row.tag).toBeNull();
    }

    const byTag = await finance.finance.usage.query({ ...period, groupBy: ['tag'] });
    const blue = byTag.rows.find((row) => row.tag === 'blue');
    expect(blue).toMatchObject({
      jobs: 2,
      chargedMicroCents: 2 * CHEAP_PRICE,
      refundedMicroCents: CHEAP_PRICE,
    });
    expect(byTag.rows.find((row) => row.tag === 'x,y')).toMatchObject({
      jobs: 1,
      netMicroCents: CHEAP_PRICE,
    });
    expect(byTag.totals).toEqual(r.totals);

    const empty = await finance.finance.usage.query({
      from: '2001-01-01T00:00:00Z',
      to: '2001-01-02T00:00:00Z',
      groupBy: ['tenant'],
    });
    expect(empty.rows).toEqual([]);
    expect(empty.totals).toMatchObject({ jobs: 0, chargedMicroCents: 0, netMicroCents: 0 });
    expect(
      await expectTRPCError(finance.finance.usage.query({ from: period.to, to: period.from, groupBy: [] })),
    ).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PERIOD' });
  });

  it('usage.csv: header, RFC 4180, exact USD strings, sums equal the ledger', async () => {
    const q = new URLSearchParams({ ...period, groupBy: 'tenant,model,day,tag' });
    const res = await fetch(`${h.url}/reports/usage.csv?${q}`, {
      headers: { authorization: `Bearer ${financeToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="usage-tenant-model-day-tag-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const text = await res.text();
    const header = text.slice(0, text.indexOf('\r\n')).split(',');
    expect(header).toEqual([
      'tenant_id',
      'tenant_name',
      'model',
      'day',
      'tag',
      'jobs',
      'completed_jobs',
      'failed_jobs',
      'cancelled_jobs',
      'rejected_jobs',
      'in_flight_jobs',
      'charged_micro_cents',
      'charged_usd',
      'refunded_micro_cents',
      'refunded_usd',
      'net_micro_cents',
      'net_usd',
      'upstream_cost_micro_cents',
      'upstream_cost_usd',
      'margin_micro_cents',
      'margin_usd',
      'upstream_cost_unknown_jobs',
      'upstream_cost_unknown_charged_micro_cents',
      'upstream_cost_unknown_charged_usd',
    ]);
    const rows = parse(text, { columns: true }) as Row[];
    expect(rows.map((r) => r.tag)).toContain('x,y');
    // A tenant-chosen tag is text: formula-like, it gets a leading ' (the amounts stay numbers).
    expect(rows.map((r) => r.tag)).toContain("'@SUM(1)");
    expect(rows.map((r) => r.tag)).not.toContain('@SUM(1)');
    for (const r of rows) {
      for (const m of [
        'charged',
        'refunded',
        'net',
        'upstream_cost',
        'margin',
        'upstream_cost_unknown_charged',
      ]) {
        expect(r[`${m}_usd`], `${m}_usd`).toBe(formatUsd(BigInt(r[`${m}_micro_cents`] ?? 'x')));
      }
    }
    // Grouped by tag a job counts once per tag; grouped without tag, the CSV sums to the ledger.
    const plain = await fetch(
      `${h.url}/reports/usage.csv?${new URLSearchParams({ ...period, groupBy: 'tenant,day' })}`,
      {
        headers: { authorization: `Bearer ${financeToken}` },
      },
    );
    const plainRows = parse(await plain.text(), { columns: true }) as Row[];
    const total = (k: string) => plainRows.reduce((s, r) => s + BigInt(r[k] ?? 'x'), 0n);
    expect(total('charged_micro_cents')).toBe(ledger.charged);
    expect(total('refunded_micro_cents')).toBe(ledger.refunded);
    expect(total('net_micro_cents')).toBe(ledger.net);
    expect(Object.keys(plainRows[0] ?? {})[0]).toBe('tenant_id');
    expect(Object.keys(plainRows[0] ?? {})).not.toContain('model');

    const bad = await fetch(
      `${h.url}/reports/usage.csv?${new URLSearchParams({ ...period, groupBy: 'planet' })}`,
      {
        headers: { authorization: `Bearer ${financeToken}` },
      },
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: 'BAD_REQUEST',
      reason: 'INVALID_INPUT',
      requestId: expect.any(String),
    });
  });

  it('ledger.csv and finance.ledger: every line once, sums per account equal the ledger, UTC ISO times', async () => {
    const res = await fetch(`${h.url}/reports/ledger.csv?${new URLSearchParams(period)}`, {
      headers: { authorization: `Bearer ${financeToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="ledger-.*\.csv"$/);
    const rows = parse(await res.text(), { columns: true }) as Row[];
    expect(rows).toHaveLength(ledger.lines);
    const byAccount = new Map<string, bigint>();
    for (const r of rows) {
      const amount = BigInt(r.amount_micro_cents ?? 'x');
      byAccount.set(r.account ?? '', (byAccount.get(r.account ?? '') ?? 0n) + amount);
      expect(r.amount_usd).toBe(formatUsd(amount));
      expect(r.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      if (r.balance_after_micro_cents !== '') {
        expect(r.balance_after_usd).toBe(formatUsd(BigInt(r.balance_after_micro_cents ?? 'x')));
      }
    }
    expect(byAccount).toEqual(ledger.byAccount);
    expect(rows.map((r) => r.reference)).toContain('INV "42", part 1');
    expect(rows.map((r) => r.reason)).toContain('rounding, per "policy"\nline two');

    const finance = makeClient(h.url, financeToken);
    let cursor: string | undefined;
    let seen = 0;
    let net = 0n;
    do {
      const page = await finance.finance.ledger.query({ ...period, limit: 7, ...(cursor ? { cursor } : {}) });
      seen += page.items.length;
      for (const item of page.items)
        if (item.account === 'platform_revenue') net += BigInt(item.amountMicroCents);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toBe(ledger.lines);
    expect(net).toBe(ledger.net);

    const balances = await finance.finance.balances.query();
    expect(balances.balanced).toBe(true);
    expect(BigInt(balances.platform.revenueMicroCentsExact)).toBe(ledger.net);
  });

  it('ledger.csv is byte for byte the RFC 4180 encoding of the ledger rows (CRLF, quoting, USD), formula-like text neutralised', async () => {
    const res = await fetch(`${h.url}/reports/ledger.csv?${new URLSearchParams(period)}`, {
      headers: { authorization: `Bearer ${financeToken}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    // The expected file, encoded in JS from a plain SELECT (what the route wrote before Postgres
    // formatted it with COPY): the same bytes, header and CRLF included.
    const lines = await h.db.sql<
      {
        line_id: string;
        created_at: string;
        transaction_id: string;
        kind: string;
        account: string;
        tenant_id: string | null;
        job_id: string | null;
        hold_id: string | null;
        amount: string;
        balance_after: string | null;
        reference: string | null;
        reason: string | null;
        actor: string;
      }[]
    >`
      SELECT l.id::text AS line_id,
             to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
             l.transaction_id, t.kind::text AS kind, l.account::text AS account, l.tenant_id, t.job_id, t.hold_id,
             l.amount_micro_cents::text AS amount, l.balance_after_micro_cents::text AS balance_after,
             t.reference, t.reason, t.actor
        FROM ledger_lines l JOIN ledger_transactions t ON t.id = l.transaction_id
       WHERE l.created_at >= ${period.from}::timestamptz AND l.created_at < ${period.to}::timestamptz
       ORDER BY l.created_at, l.id`;
    let expected = csvRecord(LEDGER_CSV_COLUMNS);
    for (const r of lines) {
      const amount = BigInt(r.amount);
      const balance = r.balance_after === null ? null : BigInt(r.balance_after);
      expected += csvRecord([
        r.line_id,
        r.created_at,
        r.transaction_id,
        r.kind,
        r.account,
        r.tenant_id,
        r.job_id,
        r.hold_id,
        amount,
        formatUsd(amount),
        balance,
        balance === null ? null : formatUsd(balance),
        csvText(r.reference),
        csvText(r.reason),
        csvText(r.actor),
      ]);
    }
    expect(lines.length).toBe(ledger.lines);
    expect(text).toBe(expected);

    const rows = parse(text, { columns: true }) as Row[];
    // Neutralised text cells…
    expect(rows.map((r) => r.reference)).toContain(`'=HYPERLINK("http://evil.example","click")`);
    expect(rows.map((r) => r.reason)).toContain(`'-5+cmd|"/c calc"!A1`);
    expect(rows.map((r) => r.reference)).toContain('INV "42", part 1');
    // …but negative amounts stay numbers.
    const adjustment = rows.find(
      (r) => r.reason === `'-5+cmd|"/c calc"!A1` && r.account === 'tenant_available',
    );
    expect(adjustment).toMatchObject({ amount_micro_cents: '-5', amount_usd: '-0.000005' });
  });

  it('a reversed or empty period is a 400 INVALID_PERIOD on every report, tRPC and CSV alike; and usage periods are whole UTC days, of any length', async () => {
    const finance = makeClient(h.url, financeToken);
    const reversed = { from: period.to, to: period.from };
    const empty = { from: period.from, to: period.from };
    for (const p of [reversed, empty]) {
      expect(await expectTRPCError(finance.finance.ledger.query({ ...p, limit: 10 }))).toMatchObject({
        code: 'BAD_REQUEST',
        reason: 'INVALID_PERIOD',
      });
      expect(await expectTRPCError(finance.finance.usage.query({ ...p, groupBy: [] }))).toMatchObject({
        code: 'BAD_REQUEST',
        reason: 'INVALID_PERIOD',
      });
      for (const route of ['ledger.csv', 'usage.csv']) {
        const res = await fetch(`${h.url}/reports/${route}?${new URLSearchParams(p)}`, {
          headers: { authorization: `Bearer ${financeToken}` },
        });
        expect(res.status, route).toBe(400);
        expect(await res.json(), route).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PERIOD' });
      }
    }
    // Usage reads a daily roll-up: any length of whole UTC days, but not a period cut inside a day.
    const decade = await finance.finance.usage.query({
      from: '2020-01-01T00:00:00Z',
      to: '2030-01-01T00:00:00Z',
      groupBy: [],
    });
    expect(BigInt(decade.totals.netMicroCentsExact)).toBe(ledger.net);
    const longer = { from: '2025-01-01T00:00:00Z', to: '2026-01-02T00:00:01Z' };
    for (const p of [longer, { from: '2025-01-01T06:00:00+05:00', to: '2025-01-02T00:00:00Z' }]) {
      expect(await expectTRPCError(finance.finance.usage.query({ ...p, groupBy: [] }))).toMatchObject({
        reason: 'INVALID_PERIOD',
        message: expect.stringContaining('whole UTC days'),
      });
      const res = await fetch(`${h.url}/reports/usage.csv?${new URLSearchParams(p)}`, {
        headers: { authorization: `Bearer ${financeToken}` },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ reason: 'INVALID_PERIOD' });
    }
    // 2025-01-01T06:00+06:00 is midnight UTC: the same instant, accepted.
    expect(
      (
        await finance.finance.usage.query({
          from: '2025-01-01T06:00:00+06:00',
          to: '2025-01-02T00:00:00Z',
          groupBy: [],
        })
      ).rows,
    ).toHaveLength(1);
    // The ledger pages through any period: only the order is checked there.
    expect((await finance.finance.ledger.query({ ...longer, limit: 1 })).items).toBeDefined();
  });

  it('usdSql (the USD columns of the ledger CSV, formatted by Postgres) equal formatUsd to the byte', async () => {
    const values = [
      0n,
      1n,
      -1n,
      5n,
      10n,
      99n,
      100n,
      10_000n,
      100_000n,
      120_000n,
      999_999n,
      1_000_000n,
      -1_000_000n,
      1_000_001n,
      -1_234_567n,
      12_345_678_900n,
      9_223_372_036_854_775_807n,
      -9_223_372_036_854_775_808n,
      // Whole cents (the last four digits zero, negative too) take usdSql's other branch.
      -10_000n,
      -120_000n,
      1_230_000n,
      -1_230_000n,
      5_000n,
      -5_000n,
      // And a spread of magnitudes, half of them whole cents.
      ...Array.from({ length: 200 }, (_, i) => {
        const v = BigInt(Math.round(Math.sin(i + 1) * 10 ** (i % 13))) * (i % 2 === 0 ? 10_000n : 1n);
        return i % 3 === 0 ? -v : v;
      }),
    ];
    const rows = await h.db.sql.unsafe<{ v: string; usd: string }[]>(
      `SELECT v::text AS v, ${usdSql('v')} AS usd FROM unnest($1::bigint[]) AS u(v)`,
      [values.map(String)],
    );
    expect(rows.map((r) => [r.v, r.usd])).toEqual(values.map((v) => [String(v), formatUsd(v)]));
    const [nul] = await h.db.sql.unsafe<{ usd: string | null }[]>(
      `SELECT ${usdSql('v')} AS usd FROM (SELECT NULL::bigint AS v) x`,
    );
    expect(nul?.usd).toBeNull();
  });

  it('finance.usage pages with limit / nextCursor: every row once, in order, same totals; a foreign cursor is INVALID_CURSOR', async () => {
    const finance = makeClient(h.url, financeToken);
    for (const groupBy of [['tenant', 'model', 'day', 'tag'], ['tag'], ['tenant']] as const) {
      const whole = await finance.finance.usage.query({ ...period, groupBy: [...groupBy] });
      expect(whole.nextCursor).toBeNull();
      const pages: (typeof whole)[] = [];
      let cursor: string | undefined;
      do {
        const page = await finance.finance.usage.query({
          ...period,
          groupBy: [...groupBy],
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        pages.push(page);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages.flatMap((p) => p.rows)).toEqual(whole.rows);
      expect(pages.length).toBe(whole.rows.length);
      for (const p of pages) expect(p.totals).toEqual(whole.totals);
    }
    const first = await finance.finance.usage.query({ ...period, groupBy: ['tenant'], limit: 1 });
    expect(first.nextCursor).toEqual(expect.any(String));
    for (const cursor of [first.nextCursor ?? '', 'bm90LWEtY3Vyc29y']) {
      expect(
        await expectTRPCError(finance.finance.usage.query({ ...period, groupBy: ['model'], cursor })),
      ).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_CURSOR' });
    }
    expect(
      await expectTRPCError(finance.finance.usage.query({ ...period, groupBy: ['tenant'], limit: 10_001 })),
    ).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('rows carry the tenant name beside its id; the live book by default, the test book apart (empty here: no sandbox was used)', async () => {
    const finance = makeClient(h.url, financeToken);
    const live = await finance.finance.usage.query({ ...period, groupBy: ['tenant'] });
    expect(live.mode).toBe('live');
    const names = await h.db.sql<{ id: string; name: string }[]>`SELECT id, name FROM tenants`;
    expect(live.rows.length).toBeGreaterThan(0);
    for (const row of live.rows) {
      expect(row.tenantName).toBe(names.find((n) => n.id === row.tenantId)?.name);
    }
    const byModel = await finance.finance.usage.query({ ...period, groupBy: ['model'] });
    for (const row of byModel.rows) expect(row.tenantName).toBeNull();
    const test = await finance.finance.usage.query({ ...period, groupBy: ['tenant'], mode: 'test' });
    expect(test).toMatchObject({ mode: 'test', rows: [], totals: { jobs: 0, chargedMicroCents: 0 } });
    const csv = await fetch(
      `${h.url}/reports/usage.csv?${new URLSearchParams({ ...period, groupBy: 'tenant', mode: 'test' })}`,
      { headers: { authorization: `Bearer ${financeToken}` } },
    );
    expect(csv.headers.get('content-disposition')).toMatch(/filename="usage-test-tenant-/);
    expect(await csv.text()).toBe(`${usageCsvHeader(['tenant']).join(',')}\r\n`);
  });

  it('every ledger transaction of the mix (HTTP submits, group commits, top-ups, adjustments) touches one tenant, platform lines included', async () => {
    // The property the Citus plan distributes by (docs/scaling.md): a money transaction's lines,
    // hold and job all belong to its tenant; platform lines carry no tenant and go with their
    // transaction. Checked over every transaction this file wrote.
    const [n] = await h.db.sql<{ n: string }[]>`SELECT count(*)::text AS n FROM ledger_transactions`;
    expect(Number(n?.n)).toBeGreaterThan(10);
    const crossing = await h.db.sql<{ id: string }[]>`
      SELECT x.id FROM ledger_transactions x
       WHERE EXISTS (SELECT 1 FROM ledger_lines l WHERE l.transaction_id = x.id AND l.tenant_id <> x.tenant_id)
          OR EXISTS (SELECT 1 FROM holds h WHERE h.id = x.hold_id AND h.tenant_id <> x.tenant_id)
          OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = x.job_id AND j.tenant_id <> x.tenant_id)`;
    expect(crossing).toEqual([]);
    const platform = await h.db.sql<{ n: string }[]>`
      SELECT count(*)::text AS n FROM ledger_lines WHERE tenant_id IS NULL`;
    expect(Number(platform[0]?.n)).toBeGreaterThan(0);
  });

  it('admin.reconcile is clean and its totals agree with the usage report', async () => {
    const r = await h.admin.admin.reconcile.query();
    expect(r.discrepancies).toEqual([]);
    expect(r.ok).toBe(true);
    expect(BigInt(r.totals.netMicroCentsExact)).toBe(ledger.net);
    expect(r.totals.upstreamCostMicroCents).toBe(2 * CHEAP_PRICE);
  });
});

describe('upstream cost of jobs tollgate failed on its own', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a deadline-exceeded or admin-refunded job still costs the operator upstream: usage margin and reconcile say so', async () => {
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const from = new Date(today.getTime() - 86_400_000).toISOString();
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 10_000_000 });
    const late = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const refunded = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const failedUpstream = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // Test arrangement: the first one misses its deadline while still running upstream (the sweep
    // refunds the tenant), an admin refunds the second, Pixelbyte fails the third (and refunds us).
    await h.db.sql`UPDATE jobs SET deadline_at = now() - interval '1 second' WHERE id = ${late.id}`;
    expect(await expireOverdueJob(h.db.db, { jobId: late.id })).toMatchObject({ expired: true });
    await h.admin.admin.jobs.resolve.mutate({ jobId: refunded.id, decision: 'refund', reason: 'goodwill' });
    await h.sim.control.advance(failedUpstream.upstreamJobId ?? '', 'failed');
    await waitFor(async () => (await client.jobs.get.query({ id: failedUpstream.id })).status === 'failed', {
      timeoutMs: 30_000,
      what: 'the upstream failure applied (webhook)',
    });
    // Pixelbyte's own error codes are not ours to read: even one spelled like ours is its failure.
    const pixelbyteError = JSON.stringify({ code: 'DEADLINE_EXCEEDED', message: 'provider timeout' });
    await h.db.sql`UPDATE jobs SET error = ${pixelbyteError}::jsonb WHERE id = ${failedUpstream.id}`;

    const usage = await h.admin.finance.usage.query({
      from,
      to: new Date(today.getTime() + 2 * 86_400_000).toISOString(),
      groupBy: ['tenant'],
    });
    const row = usage.rows.find((r) => r.tenantId === tenantId);
    // The tenant paid nothing for the three; Pixelbyte kept the charge of the first two.
    expect(row).toMatchObject({
      chargedMicroCents: 3 * CHEAP_PRICE,
      refundedMicroCents: 3 * CHEAP_PRICE,
      netMicroCents: 0,
      upstreamCostMicroCents: 2 * CHEAP_PRICE,
      marginMicroCents: -2 * CHEAP_PRICE,
    });
    const check = await h.admin.admin.reconcile.query();
    expect(check.ok).toBe(true);
    expect(
      check.flags
        .filter((f) => f.kind === 'CHARGE_BELOW_UPSTREAM_COST')
        .map((f) => f.jobId)
        .sort(),
    ).toEqual([late.id, refunded.id].sort());
  });
});
