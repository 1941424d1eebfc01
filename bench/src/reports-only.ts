// Scenario 5 on its own, run by hand (not a test, not part of `pnpm bench`): seeds a ledger of
// `--lines` lines with the bench's set-based seeding, starts the gateway (production mode, as
// `pnpm bench` does), then times `finance.usage` (a month by tenant × model), `usage.csv` (tenant ×
// model × day) and `ledger.csv`, sampling the gateway's RSS while the CSV streams. It also checks
// that the usage totals equal the ledger's platform revenue lines to the micro-cent and that
// `reconcile` is clean: a fast wrong report is a failure.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//     pnpm --filter @tollgate/bench exec tsx src/reports-only.ts [--lines 1000000] [--keep] [--explain]
//   REPORTS_DB_URL=postgres://…/tollgate_bench_… pnpm --filter @tollgate/bench exec tsx src/reports-only.ts
//
// Without DATABASE_URL an embedded Postgres is used. `--keep` leaves the seeded database in place
// (its URL is printed) so a later run can reuse it with REPORTS_DB_URL (it is then migrated, topped
// up to `--lines` if needed and never dropped). `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the
// usage query. `--api-dir <dir>` runs the gateway from another copy of packages/api (before/after).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '@tollgate/api';
import { createDb, migrate } from '@tollgate/db/client';
import { createTenant, reconcile, topUp } from '@tollgate/db/ledger';
// Not exported by @tollgate/api: only used for --explain, to print the plan of the very query it runs.
import { usageQuery } from '../../packages/api/src/services/finance/usage.ts';
import {
  type Database,
  freePort,
  REPO_ROOT,
  rssMb,
  startDatabase,
  startNodeChild,
  waitForHttp,
} from './processes';
import { seedLedger } from './seed';
import { AUDIENCE, ISSUER, MODEL, PRICE_MICRO_CENTS } from './stack';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    tenants: { type: 'string', default: '1000' },
    keep: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
    // A/B runs: the gateway from another checkout of packages/api (its node_modules linked).
    'api-dir': { type: 'string' },
  },
});
const LINES = Number(args.lines);
const TENANTS = Number(args.tenants);
const REPEAT = Number(args.repeat);
const log = (line: string) => process.stderr.write(`[reports] ${line}\n`);

async function main() {
  let database: Database | undefined;
  let url = process.env.REPORTS_DB_URL;
  if (!url) {
    database = await startDatabase(process.env.DATABASE_URL);
    url = database.url;
  }
  log(`database ${url}`);
  await migrate(url);
  const { db, sql, close } = createDb(url, { max: 4 });
  const stops: Array<() => Promise<void>> = [close];
  if (database && !args.keep) stops.push(() => database.stop());
  try {
    // Tenants through the ledger API (so their balances and top-up lines are real), then the seed.
    const existing = await sql<{ id: string }[]>`SELECT id FROM tenants ORDER BY id`;
    const tenantIds = existing.map((t) => t.id);
    while (tenantIds.length < TENANTS) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, TENANTS - tenantIds.length) }, async () => {
          const t = await createTenant(db, {
            name: `reports-${randomBytes(4).toString('hex')}`,
            actor: 'bench',
          });
          const r = await topUp(db, {
            tenantId: t.id,
            amountMicroCents: 10n ** 15n,
            idempotencyKey: `reports-${t.id}`,
            reference: 'bench',
            actor: 'bench',
          });
          if (!r.ok) throw new Error(`top-up failed: ${r.reason}`);
          return t.id;
        }),
      );
      tenantIds.push(...batch);
    }
    const [before] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM ledger_lines`;
    const need = Math.max(0, LINES - Number(before?.n ?? 0n));
    if (need > 0) {
      const t0 = performance.now();
      await seedLedger(sql, {
        tenantIds,
        lines: need,
        priceMicroCents: PRICE_MICRO_CENTS,
        model: MODEL,
        days: 30,
        onProgress: (n) => {
          if (n % 200_000 === 0) log(`seeded ${n.toLocaleString('en')} lines`);
        },
      });
      log(`seeded ${need.toLocaleString('en')} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    await sql`VACUUM ANALYZE`;
    const [count] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM ledger_lines`;
    // Whole UTC days (usage reads the daily roll-up): the 31 days up to and including today.
    const to = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000);
    const from = new Date(to.getTime() - 31 * 86_400_000);

    if (args.explain) {
      // drizzle's dialect renders the query exactly as the gateway sends it (bench has no drizzle dependency).
      const { dialect } = db as unknown as {
        dialect: { sqlToQuery(q: unknown): { sql: string; params: unknown[] } };
      };
      const q = dialect.sqlToQuery(usageQuery({ from, to, groupBy: ['tenant', 'model'], mode: 'live' }));
      const plan = await sql.unsafe(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.params as never[]);
      for (const row of plan) log(String(Object.values(row)[0]));
    }

    // The gateway as `pnpm bench` runs it.
    const jwtSecret = randomBytes(32).toString('base64url');
    const port = await freePort();
    const gateway = startNodeChild({
      name: 'gateway',
      cwd: args['api-dir'] ?? path.join(REPO_ROOT, 'packages/api'),
      script: 'src/serve.ts',
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: url,
        PORT: String(port),
        HOST: '127.0.0.1',
        PIXELBYTE_BASE_URL: 'http://127.0.0.1:9',
        PIXELBYTE_API_KEY: 'pb_test_key',
        JWT_SECRET: jwtSecret,
        // /metrics is read by the bench without a token (a bench stack is local).
        METRICS_PUBLIC: 'true',
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        LOG_LEVEL: 'warn',
      },
    });
    stops.unshift(() => gateway.stop(20_000));
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/readyz`, gateway);
    const token = (
      await signToken({
        secret: jwtSecret,
        issuer: ISSUER,
        audience: AUDIENCE,
        principal: { role: 'finance', sub: 'bench-finance' },
        expiresInSeconds: 3600,
      })
    ).token;
    const headers = { authorization: `Bearer ${token}` };
    const period = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    const usageInput = {
      from: from.toISOString(),
      to: to.toISOString(),
      groupBy: ['tenant', 'model'],
      limit: 10_000,
    };
    const usageUrl = `${base}/trpc/finance.usage?input=${encodeURIComponent(JSON.stringify(usageInput))}`;

    const out: Record<string, unknown> = { ledgerLines: Number(count?.n ?? 0n), tenants: tenantIds.length };
    const usageMs: number[] = [];
    let totals: { chargedMicroCents: string; refundedMicroCents: string } | undefined;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      const res = await fetch(usageUrl, { headers });
      const body = (await res.json()) as { result?: { data?: { totals: typeof totals } } };
      if (res.status !== 200) throw new Error(`finance.usage ${res.status}: ${JSON.stringify(body)}`);
      usageMs.push(Math.round(performance.now() - t0));
      totals = body.result?.data?.totals;
    }
    out.usageMs = usageMs;
    // Exactness: the report's charged − refunded equals the platform revenue lines of the period.
    const [rev] = await sql<{ charged: string; refunded: string }[]>`
      SELECT coalesce(sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'capture'), 0)::text AS charged,
             coalesce(-sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'refund'), 0)::text AS refunded
        FROM ledger_lines l JOIN ledger_transactions t ON t.id = l.transaction_id
       WHERE l.account = 'platform_revenue' AND t.created_at >= ${from.toISOString()}::timestamptz AND t.created_at < ${to.toISOString()}::timestamptz`;
    out.usageExact =
      totals !== undefined &&
      String(totals.chargedMicroCents) === rev?.charged &&
      String(totals.refundedMicroCents) === rev?.refunded;
    if (!out.usageExact) log(`usage totals ${JSON.stringify(totals)} vs ledger ${JSON.stringify(rev)}`);

    const t1 = performance.now();
    const usageCsv = await streamCsv(`${base}/reports/usage.csv?${period}&groupBy=tenant,model,day`, headers);
    out.usageCsvMs = Math.round(performance.now() - t1);
    out.usageCsvRows = usageCsv.rows;

    const rssBefore = rssMb(gateway.pid) ?? 0;
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(gateway.pid) ?? 0);
    }, 50);
    const csv = await streamCsv(`${base}/reports/ledger.csv?${period}`, headers);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(gateway.pid) ?? 0);
    Object.assign(out, {
      csvRows: csv.rows,
      csvMb: Math.round(csv.bytes / 1e5) / 10,
      csvSeconds: Math.round(csv.seconds * 100) / 100,
      csvRowsPerSecond: Math.round(csv.rows / csv.seconds),
      csvRssBeforeMb: rssBefore,
      csvRssPeakMb: peak,
      csvRssGrowthMb: Math.round((peak - rssBefore) * 10) / 10,
    });
    const r = await reconcile(db);
    out.reconcileClean = r.ok;
    out.gatewayLogLines = gateway.lineCount();
    if (gateway.lineCount() > 0) log(`gateway said:\n${gateway.tail()}`);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (args.keep && database) log(`kept database: REPORTS_DB_URL=${url}`);
  } finally {
    for (const stop of stops) await stop();
  }
}

/** Streams a CSV answer to the end, counting data rows (lines minus the header) and bytes. */
async function streamCsv(url: string, headers: Record<string, string>) {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  }
  return { rows: Math.max(0, lines - 1), bytes, seconds: (performance.now() - t0) / 1000 };
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
