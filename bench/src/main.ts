// `pnpm bench` / `pnpm bench --quick`: see bench/README.md for what is measured and how to read it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cliStartup } from './cli-startup';
import { REPO_ROOT, rssMb } from './processes';
import { checkTarget, fileTimestamp, formatTable, ratio, type TargetCheck } from './report';
import {
  addedLatency,
  baselineProxy,
  baselineSql,
  CONFIGS,
  type Ctx,
  gatewaySpreadKeys,
  gatewaySubmit,
  type RssSample,
  reports,
  restVsTrpc,
  type ScenarioResult,
  soak,
  targetOf,
  warmUp,
} from './scenarios';
import { createBaselineTenants, createTenants, MODEL, PRICE_MICRO_CENTS, startStack } from './stack';

const DB_POOL_MAX = 10;
/** $1,000,000 per tenant: no run can exhaust it (the hot tenant takes at most a few $1,000). */
const TENANT_BALANCE = 1_000_000_000_000;

const started = performance.now();
const log = (line: string) => {
  const s = Math.floor((performance.now() - started) / 1000);
  process.stderr.write(
    `[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`,
  );
};

function versionOf(pkgDir: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return null;
  }
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT }).toString().trim() !== '';
    return `${head}${dirty ? ' (working tree has uncommitted changes)' : ''}`;
  } catch {
    return null;
  }
}

/** Scenario ids in run order (`--only` takes any of them). */
const SCENARIO_IDS = [
  'reports',
  'baseline-proxy',
  'baseline-sql-spread',
  'gateway-spread',
  'gateway-spread-keys',
  'baseline-sql-hot',
  'gateway-hot',
  'rest-vs-trpc',
  'added-latency',
  'memory-soak',
  'cli-startup',
] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];

/**
 * `--only a,b`: the scenarios to run (null = all). added-latency and memory-soak run at half of
 * gateway-spread's max tps, so they bring gateway-spread along unless `--latency-rps` fixes the rate
 * (the way to compare two builds at the same arrival rate).
 */
function parseOnly(only: string | undefined, latencyRps: string | undefined): Set<ScenarioId> | null {
  if (only === undefined) return null;
  const ids = only
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  const unknown = ids.filter((x) => !(SCENARIO_IDS as readonly string[]).includes(x));
  if (unknown.length > 0 || ids.length === 0) {
    throw new Error(
      `--only: unknown scenario ${unknown.join(', ') || '(none given)'}; one of ${SCENARIO_IDS.join(', ')}`,
    );
  }
  const set = new Set(ids as ScenarioId[]);
  if (latencyRps === undefined && (set.has('added-latency') || set.has('memory-soak'))) {
    if (!set.has('gateway-spread'))
      log(
        '--only: gateway-spread also runs (its max tps sets the latency rate; --latency-rps fixes it instead)',
      );
    set.add('gateway-spread');
  }
  return set;
}

const byIdOf = (results: readonly ScenarioResult[], id: string) => results.find((r) => r.id === id);

const fig = (s: ScenarioResult | undefined, key: string): number | null =>
  s && s.status !== 'skipped' ? (s.figures[key] ?? null) : null;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      profile: { type: 'boolean' },
      only: { type: 'string' },
      'latency-rps': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      `Usage: pnpm bench [--quick] [--profile] [--only <ids>] [--latency-rps <n>]\n  --quick    ≤ 60 s smoke run (short phases, 100 tenants)\n  --profile  write a V8 CPU profile of the gateway to bench/results/profiles/\n  --only     run only these scenarios (comma-separated: ${SCENARIO_IDS.join(', ')})\n  --latency-rps  the rate of added-latency and memory-soak instead of half of gateway-spread's max\nSet DATABASE_URL to use your own Postgres server (a throwaway database is created on it).\n`,
    );
    return;
  }
  const cfg = CONFIGS[values.quick ? 'quick' : 'full'];
  const only = parseOnly(values.only, values['latency-rps']);
  const latencyRpsArg = values['latency-rps'] === undefined ? undefined : Number(values['latency-rps']);
  if (latencyRpsArg !== undefined && !(Number.isInteger(latencyRpsArg) && latencyRpsArg > 0)) {
    throw new Error(`--latency-rps must be a positive integer, not ${values['latency-rps']}`);
  }
  const startedAt = new Date();
  const loadStart = os.loadavg();
  // Read before the gateway is built: the commit and tree that are measured, whatever is edited during the run.
  const commit = gitCommit();
  log(
    `tollgate bench (${cfg.mode}) on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  );

  const stack = await startStack({
    databaseUrl: process.env.DATABASE_URL,
    dbPoolMax: DB_POOL_MAX,
    log,
    ...(values.profile ? { profileDir: path.join(REPO_ROOT, 'bench/results/profiles') } : {}),
  });
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    log('interrupted: stopping children');
    void stack.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rss: RssSample[] = [];
  const phase = { name: 'setup' };
  const sampler = setInterval(() => {
    const mb = rssMb(stack.gateway.child.pid);
    if (mb !== null) rss.push({ atS: Math.round(performance.now() - started) / 1000, mb, phase: phase.name });
  }, 500);

  const results: ScenarioResult[] = [];
  let ctx: Ctx | undefined;
  try {
    log(
      `creating ${cfg.tenants} + 1 tenants through the admin API, ${cfg.tenants} + 1 in the baseline database`,
    );
    const all = await createTenants(stack, {
      count: cfg.tenants + 1,
      label: 't',
      balanceMicroCents: TENANT_BALANCE,
    });
    const spread = all.slice(0, cfg.tenants);
    const hot = all[cfg.tenants];
    const base = await createBaselineTenants(stack, cfg.tenants + 1, BigInt(TENANT_BALANCE));
    const baseSpread = base.slice(0, cfg.tenants);
    const baseHot = base[cfg.tenants];
    if (!hot || !baseHot) throw new Error('bug: hot tenants missing');
    ctx = {
      stack,
      cfg,
      gateway: targetOf(stack.gateway.url),
      sim: targetOf(stack.sim.url),
      proxy: targetOf(stack.proxy.url),
      spread,
      hot,
      baseSpread,
      baseHot,
      log,
      phase,
      rss,
    };
    phase.name = 'rest';
    await new Promise((r) => setTimeout(r, 1_500));
    const rssAtRest = rssMb(stack.gateway.child.pid);
    await warmUp(ctx);
    const c = ctx;
    const run = async (id: ScenarioId, go: () => Promise<ScenarioResult>) => {
      if (only === null || only.has(id)) results.push(await go());
    };
    // Reports first: the load scenarios fill the ledger too, and the first report measurement is
    // at 100k lines. The load scenarios then run on a ledger of 1M lines, as a busy operator's is.
    await run('reports', () => reports(c));

    await run('baseline-proxy', () => baselineProxy(c));
    await run('baseline-sql-spread', () => baselineSql(c, 'spread'));
    await run('gateway-spread', () => gatewaySubmit(c, 'spread'));
    const spreadResult = byIdOf(results, 'gateway-spread');
    await run('gateway-spread-keys', () => gatewaySpreadKeys(c));
    await run('baseline-sql-hot', () => baselineSql(c, 'hot'));
    await run('gateway-hot', () => gatewaySubmit(c, 'hot'));
    await run('rest-vs-trpc', () => restVsTrpc(c));
    // Half of the saturation rate measured above (scenario 1, same run): loaded, not queueing.
    const latencyRps = latencyRpsArg ?? Math.max(10, Math.floor((fig(spreadResult, 'maxTps') ?? 100) / 2));
    await run('added-latency', () => addedLatency(c, latencyRps));
    const soakRps =
      latencyRpsArg ?? Math.max(10, Math.min(500, Math.floor((fig(spreadResult, 'maxTps') ?? 100) * 0.5)));
    await run('memory-soak', () => soak(c, soakRps));
    await run('cli-startup', () => cliStartup(c));
    phase.name = 'rest-after';
    await new Promise((r) => setTimeout(r, 1_500));
    const rssAfter = rssMb(stack.gateway.child.pid);
    clearInterval(sampler);

    const byId = (id: string) => results.find((r) => r.id === id);
    const underLoad = rss.filter((x) => !['setup', 'rest', 'rest-after', 'idle'].includes(x.phase));
    const rssUnderLoadPeak = underLoad.length ? Math.max(...underLoad.map((x) => x.mb)) : null;

    const proxyTps = fig(byId('baseline-proxy'), 'tps');
    const sqlSpread = fig(byId('baseline-sql-spread'), 'tps');
    const sqlHot = fig(byId('baseline-sql-hot'), 'tps');
    const gwSpread = fig(byId('gateway-spread'), 'maxTps');
    const gwHot = fig(byId('gateway-hot'), 'maxTps');
    const ratios = {
      spreadVsRawSqlSpread: ratio(gwSpread, sqlSpread),
      hotVsRawSqlHot: ratio(gwHot, sqlHot),
      spreadVsBareProxy: ratio(gwSpread, proxyTps),
      hotVsSpread: ratio(gwHot, gwSpread),
      rawSqlHotVsSpread: ratio(sqlHot, sqlSpread),
      restVsTrpcSubmit: ratio(fig(byId('rest-vs-trpc'), 'restTps'), fig(byId('rest-vs-trpc'), 'trpcTps')),
      spreadApiKeyVsJwt: fig(byId('gateway-spread-keys'), 'keyVsJwtTps'),
    };
    const latency = byId('added-latency');
    const reportsResult = byId('reports');
    const atScale = cfg.mode === 'full';
    const soakResult = byId('memory-soak');
    const targets: TargetCheck[] = [
      checkTarget({
        id: 'spread-vs-raw-sql',
        description: 'spread submit tps ≥ 0.5 × raw hold SQL spread tps',
        kind: 'min',
        target: 0.5,
        actual: ratios.spreadVsRawSqlSpread,
        unit: '×',
      }),
      checkTarget({
        id: 'api-key-vs-jwt',
        description: 'spread submit tps with API keys ≥ 0.95 × with JWTs (alternating phases)',
        kind: 'min',
        target: 0.95,
        actual: ratios.spreadApiKeyVsJwt,
        unit: '×',
      }),
      checkTarget({
        id: 'hot-vs-raw-sql',
        description: 'hot-tenant submit tps ≥ 1.0 × raw hold SQL hot tps',
        kind: 'min',
        target: 1,
        actual: ratios.hotVsRawSqlHot,
        unit: '×',
      }),
      checkTarget({
        id: 'rest-vs-trpc',
        description: 'REST submit tps ≥ 1.0 × tRPC submit tps (same run, alternating phases)',
        kind: 'min',
        target: 1,
        actual: ratios.restVsTrpcSubmit,
        unit: '×',
      }),
      checkTarget({
        id: 'added-p50',
        description: 'added latency p50 at half the saturation rate ≤ 5 ms (median of the repetitions)',
        kind: 'max',
        target: 5,
        actual: fig(latency, 'addedP50Ms'),
        unit: 'ms',
      }),
      checkTarget({
        id: 'added-p99',
        description: 'added latency p99 at half the saturation rate ≤ 25 ms (median of the repetitions)',
        kind: 'max',
        target: 25,
        actual: fig(latency, 'addedP99Ms'),
        unit: 'ms',
      }),
      checkTarget({
        id: 'gateway-vs-proxy',
        description: 'gateway tps ≥ 0.25 × bare proxy tps',
        kind: 'min',
        target: 0.25,
        actual: ratios.spreadVsBareProxy,
        unit: '×',
      }),
      checkTarget({
        id: 'usage-month-growth',
        description: 'finance.usage for a month (tenant × model): time at 1M ledger lines ÷ at 100k ≤ 1.5',
        kind: 'max',
        target: 1.5,
        actual: atScale ? fig(reportsResult, 'usageMonthGrowth') : null,
        unit: '×',
      }),
      checkTarget({
        id: 'usage-year-growth',
        description: 'finance.usage for a year (tenant × model): time at 1M ledger lines ÷ at 100k ≤ 1.5',
        kind: 'max',
        target: 1.5,
        actual: atScale ? fig(reportsResult, 'usageYearGrowth') : null,
        unit: '×',
      }),
      checkTarget({
        id: 'usage-csv-rate',
        description: 'usage.csv (a year by tenant × model × day, median of 5) ≥ 100k rows/s',
        kind: 'min',
        target: 100_000,
        actual: atScale ? fig(reportsResult, 'usageCsvRowsPerSecond') : null,
        unit: 'rows/s',
      }),
      checkTarget({
        id: 'csv-rate',
        description: 'ledger CSV of a year (1M lines) ≥ 100k rows/s',
        kind: 'min',
        target: 100_000,
        actual: atScale ? fig(reportsResult, 'csvRowsPerSecond') : null,
        unit: 'rows/s',
      }),
      checkTarget({
        id: 'csv-memory',
        description: 'ledger CSV streams with flat memory (RSS growth ≤ 50 MB)',
        kind: 'max',
        target: 50,
        actual:
          atScale && fig(reportsResult, 'csvRows') !== null ? fig(reportsResult, 'csvRssGrowthMb') : null,
        unit: 'MB',
      }),
      checkTarget({
        id: 'rss-under-load',
        description: 'gateway RSS under load ≤ 200 MB',
        kind: 'max',
        target: 200,
        actual: rssUnderLoadPeak,
        unit: 'MB',
      }),
      checkTarget({
        id: 'rss-growth',
        description: `no RSS growth over the soak (slope ≤ 1 MB/min)${atScale ? '' : ' — quick soak too short to judge'}`,
        kind: 'max',
        target: 1,
        actual: atScale ? fig(soakResult, 'rssSlopeMbPerMin') : null,
        unit: 'MB/min',
      }),
      checkTarget({
        id: 'cli-help-startup',
        description: '`tollgate --help` (built bin) ≤ 2 × a bare `node -e 0` start (medians)',
        kind: 'max',
        target: 2,
        actual: fig(byId('cli-startup'), 'builtVsNode'),
        unit: '×',
      }),
    ];

    const finishedAt = new Date();
    const pgVersion =
      (await stack.sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`)[0]?.v ?? null;
    const out = {
      schema: 1,
      mode: cfg.mode,
      // `--only` runs (null: every scenario) and a `--latency-rps` rate: not a full run's verdict.
      only: only === null ? null : [...only],
      latencyRps: latencyRpsArg ?? null,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      ok: results.every((r) => r.status !== 'failed'),
      machine: {
        platform: `${os.platform()} ${os.release()}`,
        arch: os.arch(),
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? null,
        totalMemMb: Math.round(os.totalmem() / 1048576),
        loadAvgStart: loadStart.map((x) => Math.round(x * 100) / 100),
        loadAvgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
        note: 'shared machine: read the ratios, not the absolute figures',
      },
      versions: {
        tollgate: commit,
        node: process.version,
        postgres: pgVersion,
        hono: versionOf(path.join(REPO_ROOT, 'node_modules/.pnpm/node_modules/hono')),
        trpcServer: versionOf(path.join(REPO_ROOT, 'node_modules/.pnpm/node_modules/@trpc/server')),
        postgresJs: versionOf(path.join(REPO_ROOT, 'node_modules/.pnpm/node_modules/postgres')),
      },
      setup: {
        database:
          stack.database.source === 'embedded'
            ? 'embedded Postgres, temp data dir, default durability (fsync on)'
            : 'a fresh database on DATABASE_URL',
        gateway: `child process: ${stack.gateway.command}, NODE_ENV=production, LOG_LEVEL=warn, workers on`,
        gatewayDbPoolMax: DB_POOL_MAX,
        simulator:
          'child process: packages/pixelbyte simulator CLI, --pending-ms 0 --processing-ms 0 --no-webhooks (jobs finish through the gateway poller)',
        bareProxy: 'child process: bench/src/proxy-server.ts (Hono + node:http keep-alive agent)',
        loadGenerator:
          'in the bench process: node:http keep-alive Agent; closed loop for max throughput, open loop (fixed arrival rate, latency from due time) for latency',
        tenants: { spread: cfg.tenants, hot: 1, rawSqlSpread: cfg.tenants, rawSqlHot: 1 },
        concurrency: cfg.concurrency,
        model: MODEL,
        priceMicroCents: Number(PRICE_MICRO_CENTS),
        tenantTokens:
          'signed by the bench with the gateway JWT_SECRET (same claims as admin.tenants.issueToken)',
      },
      gatewayLog: {
        lines: stack.gateway.child.lineCount(),
        lastLines: stack.gateway.child.tail().split('\n').slice(-10),
      },
      memory: { rssAtRestMb: rssAtRest, rssUnderLoadPeakMb: rssUnderLoadPeak, rssAfterLoadMb: rssAfter },
      ratios,
      targets,
      scenarios: results,
      rssSamples: rss,
    };

    // Terminal table.
    const rows = results.map((r) => {
      const tps = r.figures.maxTps ?? r.figures.tps ?? r.figures.sustainedOkPerSecond ?? null;
      return [
        r.title.replace(/^(Scenario \d\w?|Baseline \([ab]\)): /, '$1 '),
        r.status,
        tps,
        r.figures.p50Ms ?? r.figures.gatewayP50Ms ?? null,
        r.figures.p99Ms ?? r.figures.gatewayP99Ms ?? null,
        Object.values(r.runs).reduce((a, x) => a + x.failed, 0),
        r.reconcile ? (r.reconcile.ok ? 'clean' : 'DIRTY') : '–',
      ];
    });
    const print = (s: string) => process.stdout.write(`${s}\n`);
    print('');
    print(formatTable(['scenario', 'status', 'max tps', 'p50 ms', 'p99 ms', 'errors', 'reconcile'], rows));
    print('');
    if (latency && latency.status !== 'skipped') {
      const reps = Number(latency.figures.reps ?? 0);
      const each = Array.from(
        { length: reps },
        (_, i) => `${fig(latency, `addedP50MsRep${i + 1}`)}/${fig(latency, `addedP99MsRep${i + 1}`)}`,
      ).join(', ');
      print(
        `added latency at ${fig(latency, 'rps')}/s (half of saturation), median of ${reps}: p50 ${fig(latency, 'addedP50Ms')} ms, p99 ${fig(latency, 'addedP99Ms')} ms (repetitions p50/p99: ${each}; medians: gateway ${fig(latency, 'gatewayP50Ms')}/${fig(latency, 'gatewayP99Ms')}, simulator ${fig(latency, 'simulatorP50Ms')}/${fig(latency, 'simulatorP99Ms')})`,
      );
    }
    print(
      `gateway RSS: rest ${rssAtRest} MB, peak under load ${rssUnderLoadPeak} MB, after ${rssAfter} MB; soak slope ${fig(soakResult, 'rssSlopeMbPerMin')} MB/min`,
    );
    print(
      `completions behind (jobs accepted > 10 s earlier, not yet completed by the poller): ${fig(byId('gateway-spread'), 'completionBacklog')} after spread, ${fig(byId('gateway-hot'), 'completionBacklog')} after hot, ${fig(soakResult, 'completionBacklog')} after the soak`,
    );
    print(
      `CPU per request (from /proc): gateway ${fig(byId('gateway-spread'), 'gatewayCpuMsPerJob')} ms per accepted job spread, ${fig(byId('gateway-hot'), 'gatewayCpuMsPerJob')} ms hot; bare proxy ${fig(byId('baseline-proxy'), 'proxyCpuMsPerRequest')} ms`,
    );
    const rest = byId('rest-vs-trpc');
    print(
      `REST vs tRPC submit (alternating phases): ${fig(rest, 'restTps')} vs ${fig(rest, 'trpcTps')} tps (${ratios.restVsTrpcSubmit} ×); gateway CPU per job ${fig(rest, 'restCpuMsPerJob')} vs ${fig(rest, 'trpcCpuMsPerJob')} ms`,
    );
    const keys = byId('gateway-spread-keys');
    print(
      `API keys vs JWTs, spread submit (alternating phases): ${fig(keys, 'apiKeyTps')} vs ${fig(keys, 'jwtTps')} tps (${ratios.spreadApiKeyVsJwt} ×); gateway CPU per job ${fig(keys, 'apiKeyCpuMsPerJob')} vs ${fig(keys, 'jwtCpuMsPerJob')} ms`,
    );
    if (reportsResult) {
      print(`reports: ${reportsResult.status}${reportsResult.reason ? ` (${reportsResult.reason})` : ''}`);
      const r = (k: string) => fig(reportsResult, k);
      print(
        `finance.usage (tenant × model): month ${r('usageMonthSmallMs')} → ${r('usageMonthMs')} ms (×${r('usageMonthGrowth')}), year ${r('usageYearSmallMs')} → ${r('usageYearMs')} ms (×${r('usageYearGrowth')}) from ${r('ledgerLinesSmall')} to ${r('ledgerLines')} ledger lines (roll-up ${r('rollupRowsSmall')} → ${r('rollupRows')} rows); usage.csv ${r('usageCsvRows')} rows at ${r('usageCsvRowsPerSecond')} rows/s (median of 5 after a cold call of ${r('usageCsvColdMs')} ms)`,
      );
    }
    print('');
    print(
      formatTable(
        ['target', 'actual', 'verdict'],
        targets.map((t) => [t.description, t.actual === null ? null : `${t.actual} ${t.unit}`, t.verdict]),
      ),
    );
    print('');
    print(
      formatTable(
        ['ratio', 'value'],
        Object.entries(ratios).map(([k, v]) => [k, v]),
      ),
    );

    const dir = path.join(REPO_ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(
      dir,
      `${fileTimestamp(startedAt)}${cfg.mode === 'quick' ? '-quick' : ''}${only === null ? '' : '-only'}.json`,
    );
    const json = `${JSON.stringify(out, null, 2)}\n`;
    writeFileSync(file, json);
    writeFileSync(path.join(dir, 'latest.json'), json);
    print('');
    print(`results: ${path.relative(process.cwd(), file)} (and bench/results/latest.json)`);
    if (!out.ok) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    log('stopping');
    await stack.stop();
    log(`done in ${Math.round((performance.now() - started) / 1000)}s`);
  }
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
