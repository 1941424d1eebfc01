// Diagnostic (not part of `pnpm bench`): where the WHOLE machine's CPU goes while the gateway is
// saturated (closed loop of jobs.submit over 100 tenants, then the poller draining), per process:
// gateway, simulator, Postgres (all its processes), the load generator (this process), and idle;
// then what the database did per job (commits, rows written, rows read per table scan and index: a
// sequential scan of a growing table shows up here first), and what its busy backends wait on.
// `pnpm --filter @tollgate/bench exec tsx src/machine-split.ts` [seconds, default 10] [concurrency, default 64] [DB_POOL_MAX, default 10]
// (TENANTS=n spreads the load over n tenants instead of 100.)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpuMs, machineIdleMs, postgresCpuMs, userSysMs } from './cpu';
import { runClosedLoop } from './load';
import { rssMb } from './processes';
import { submitVia, targetOf, verifySubmit } from './scenarios';
import { createTenants, startStack } from './stack';

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 64);
const dbPoolMax = Number(process.argv[4] ?? 10);
const log = (line: string) => process.stderr.write(`${line}\n`);

const stack = await startStack({
  databaseUrl: process.env.DATABASE_URL,
  dbPoolMax,
  log,
  ...(process.env.PROFILE_DIR ? { profileDir: process.env.PROFILE_DIR } : {}),
});
try {
  const tenants = await createTenants(stack, {
    count: Number(process.env.TENANTS ?? 100),
    label: 'msplit',
    balanceMicroCents: 1e15,
  });
  const target = targetOf(stack.gateway.url);
  const submit = submitVia(tenants);
  await runClosedLoop({ target, durationMs: 3_000, concurrency, make: submit, verify: verifySubmit });
  const read = () => ({
    t: performance.now(),
    gateway: cpuMs(stack.gateway.child.pid ?? 0) ?? 0,
    sim: cpuMs(stack.sim.child.pid ?? 0) ?? 0,
    postgres: postgresCpuMs(),
    loader: cpuMs(process.pid) ?? 0,
    idle: machineIdleMs(),
  });
  const dbStats = async () => {
    const [r] = await stack.sql<
      { commits: string; rollbacks: string; ins: string; upd: string; ret: string; calls: string }[]
    >`
      SELECT xact_commit::text AS commits, xact_rollback::text AS rollbacks, tup_inserted::text AS ins,
             tup_updated::text AS upd, tup_returned::text AS ret,
             (SELECT coalesce(sum(calls), 0)::text FROM pg_stat_user_functions) AS calls
      FROM pg_stat_database WHERE datname = current_database()`;
    return r;
  };
  const scans = () => stack.sql<{ name: string; n: string }[]>`
      SELECT relname || ' seq' AS name, seq_tup_read::text AS n FROM pg_stat_user_tables
      UNION ALL SELECT indexrelname, idx_tup_read::text FROM pg_stat_user_indexes`;
  const sc0 = new Map((await scans()).map((x) => [x.name, Number(x.n)]));
  const s0 = await dbStats();
  const a = read();
  const us0 = userSysMs(stack.gateway.child.pid ?? 0) ?? [0, 0];
  let rssPeak = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMb(stack.gateway.child.pid ?? 0) ?? 0);
  }, 250);
  // What the gateway's busy backends are doing (on CPU or waiting, and on what), sampled: tells a
  // CPU-bound database from one waiting on WAL flushes or row locks while the machine idles.
  const waits = new Map<string, number>();
  let waitSamples = 0;
  const waitSampler = setInterval(() => {
    void stack.sql<{ w: string }[]>`
      SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') AS w FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND state = 'active'
        AND pid <> pg_backend_pid()`.then(
      (rows) => {
        waitSamples += 1;
        for (const { w } of rows) waits.set(w, (waits.get(w) ?? 0) + 1);
      },
      () => {},
    );
  }, 100);
  const r = await runClosedLoop({
    target,
    durationMs: seconds * 1000,
    concurrency,
    make: submit,
    verify: verifySubmit,
  });
  const b = read();
  const us1 = userSysMs(stack.gateway.child.pid ?? 0) ?? [0, 0];
  clearInterval(sampler);
  clearInterval(waitSampler);
  log(
    `busy gateway backends (mean of ${waitSamples} samples): ${[...waits]
      .sort((x, y) => y[1] - x[1])
      .map(([w, n]) => `${w} ${(n / Math.max(1, waitSamples)).toFixed(2)}`)
      .join(', ')}`,
  );
  log(
    `gateway RSS: ${rssMb(stack.gateway.child.pid ?? 0)?.toFixed(0)} MB after, peak ${rssPeak.toFixed(0)} MB during the loop`,
  );
  const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  log(
    metrics
      .split('\n')
      .filter((l) =>
        /^tollgate_(nodejs_heap_size_(total|used)_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_total_bytes|process_resident)/.test(
          l,
        ),
      )
      .map((l) => l.replace(/(\d{6,})$/, (n) => `${(Number(n) / 1048576).toFixed(1)}MB`))
      .join('; '),
  );
  log(
    readFileSync(`/proc/${stack.gateway.child.pid}/status`, 'utf8')
      .split('\n')
      .filter((l) => /^(VmRSS|RssAnon|RssFile|RssShmem|VmHWM)/.test(l))
      .join('; '),
  );
  await new Promise((r) => setTimeout(r, 1500)); // backends flush their statistics about once a second
  const s1 = await dbStats();
  const heavy = (await scans())
    .map((x) => [x.name, (Number(x.n) - (sc0.get(x.name) ?? 0)) / r.ok] as const)
    .filter(([, n]) => n >= 1)
    .sort((x, y) => y[1] - x[1]);
  log(
    `rows read per job, by table scan / index: ${heavy.map(([k, n]) => `${k} ${n.toFixed(1)}`).join(', ')}`,
  );
  if (s0 && s1) {
    const d = (k: keyof typeof s0) => ((Number(s1[k]) - Number(s0[k])) / r.ok).toFixed(2);
    log(
      `per job (database): ${d('commits')} commits, ${d('rollbacks')} rollbacks, ${d('ins')} rows inserted, ${d('upd')} updated, ${d('ret')} returned`,
    );
  }
  const wall = b.t - a.t;
  const pct = (k: 'gateway' | 'sim' | 'postgres' | 'loader' | 'idle') =>
    `${(((b[k] - a[k]) / wall) * 100).toFixed(0)}%`;
  const per = (k: 'gateway' | 'sim' | 'postgres' | 'loader') => ((b[k] - a[k]) / r.ok).toFixed(3);
  log(
    `${r.ok} ok in ${(wall / 1000).toFixed(1)} s = ${((r.ok * 1000) / wall).toFixed(0)} tps, concurrency ${concurrency}`,
  );
  log(
    `CPU share of one core: gateway ${pct('gateway')}, simulator ${pct('sim')}, postgres ${pct('postgres')}, loader ${pct('loader')}; machine idle ${pct('idle')} (of 200%)`,
  );
  log(
    `gateway CPU ms per job: user ${((us1[0] - us0[0]) / r.ok).toFixed(3)}, system ${((us1[1] - us0[1]) / r.ok).toFixed(3)}`,
  );
  log(
    `CPU ms per job: gateway ${per('gateway')}, simulator ${per('sim')}, postgres ${per('postgres')}, loader ${per('loader')}`,
  );
} finally {
  await stack.stop();
}
