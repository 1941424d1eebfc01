// Diagnostic (not part of `pnpm bench`): the added latency at ONE arrival rate, measured several times
// on one stack (simulator direct, then the gateway, alternating), with the CPU each process spent per
// accepted job in each gateway phase: how much a figure moves between repetitions (read the spread,
// not one run), where the machine's CPU went, and how often the gateway's event loop was preempted
// (involuntary context switches: each stalls every request in the gateway until it gets a core back). The gateway takes POLL_* from the environment
// (stack.ts), which is how poller settings were compared (bench/HISTORY.md, "Paced poller").
// `pnpm --filter @tollgate/bench exec tsx src/latency-reps.ts` [rate/s, default 200] [repetitions, default 4]
import { contextSwitches, cpuMs, machineIdleMs, postgresUserSysMs, userSysMs } from './cpu';
import { runOpenLoop } from './load';
import { submitVia, targetOf, upstreamSubmit, verifySubmit, verifyUpstream } from './scenarios';
import { seedLedger } from './seed';
import { createTenants, MODEL, PRICE_MICRO_CENTS, startStack } from './stack';

const rps = Number(process.argv[2] ?? 200);
const reps = Number(process.argv[3] ?? 4);
const log = (line: string) => process.stderr.write(`${line}\n`);

const stack = await startStack({ databaseUrl: process.env.DATABASE_URL, dbPoolMax: 10, log });
try {
  const tenants = await createTenants(stack, {
    count: 1000,
    label: 'reps',
    balanceMicroCents: 1e15,
    parallel: 16,
  });
  const seedLines = Number(process.env.SEED_LINES ?? 0);
  if (seedLines > 0) {
    const t0 = performance.now();
    await seedLedger(stack.sql, {
      tenantIds: tenants.slice(0, 100).map((t) => t.id),
      lines: seedLines,
      priceMicroCents: PRICE_MICRO_CENTS,
      model: MODEL,
      days: 365,
    });
    await stack.sql`VACUUM ANALYZE`;
    log(`seeded ${seedLines} ledger lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const gateway = targetOf(stack.gateway.url);
  const sim = targetOf(stack.sim.url);
  const submit = submitVia(tenants);
  await runOpenLoop({ target: gateway, durationMs: 8_000, rps, make: submit, verify: verifySubmit });
  const snap = () => ({
    gateway: userSysMs(stack.gateway.child.pid) ?? [0, 0],
    gatewaySwitches: contextSwitches(stack.gateway.child.pid) ?? [0, 0],
    simulator: cpuMs(stack.sim.child.pid) ?? 0,
    loadgen: cpuMs(process.pid) ?? 0,
    postgres: postgresUserSysMs(),
    idle: machineIdleMs(),
    at: performance.now(),
  });
  // Which tables autovacuum processed during a phase: on two shared cores a vacuum of a large table
  // takes CPU from every step of the submit.
  const autovacuumCounts = async () =>
    new Map(
      (
        await stack.sql<{ relname: string; n: number }[]>`
          SELECT relname, (autovacuum_count + autoanalyze_count)::int AS n FROM pg_stat_user_tables`
      ).map((r) => [r.relname, r.n]),
    );
  const f = (n: number) => n.toFixed(1);
  log(
    `rate ${rps}/s: added p50 / p99 ms (gateway p50/p99/p99.9, simulator p50/p99); CPU ms per accepted job`,
  );
  for (let i = 0; i < reps; i++) {
    const d = await runOpenLoop({
      target: sim,
      durationMs: 4_000,
      rps,
      make: upstreamSubmit,
      verify: verifyUpstream,
    });
    const a = snap();
    const vacuumsBefore = await autovacuumCounts();
    const g = await runOpenLoop({
      target: gateway,
      durationMs: 12_000,
      rps,
      make: submit,
      verify: verifySubmit,
    });
    const b = snap();
    const vacuumed = [...(await autovacuumCounts())]
      .filter(([rel, n]) => n > (vacuumsBefore.get(rel) ?? 0))
      .map(([rel]) => rel);
    const per = (x: number, y: number) => ((y - x) / Math.max(1, g.ok)).toFixed(2);
    const idle = ((b.idle - a.idle) / (b.at - a.at) / 2) * 100; // 2 cores
    console.log(
      `added ${f(g.latency.p50Ms - d.latency.p50Ms)} / ${f(g.latency.p99Ms - d.latency.p99Ms)} ` +
        `(gateway ${f(g.latency.p50Ms)}/${f(g.latency.p99Ms)}/${f(g.latency.p999Ms)}, simulator ${f(d.latency.p50Ms)}/${f(d.latency.p99Ms)}, failed ${g.failed}); ` +
        `CPU gateway ${per(a.gateway[0], b.gateway[0])} user + ${per(a.gateway[1], b.gateway[1])} sys, postgres ${per(a.postgres[0], b.postgres[0])} user + ${per(a.postgres[1], b.postgres[1])} sys, ` +
        `simulator ${per(a.simulator, b.simulator)}, load generator ${per(a.loadgen, b.loadgen)}; machine idle ${idle.toFixed(0)}%; ` +
        `gateway context switches per job ${per(a.gatewaySwitches[0], b.gatewaySwitches[0])} voluntary, ${per(a.gatewaySwitches[1], b.gatewaySwitches[1])} preempted; ` +
        `autovacuum/analyze finished on: ${vacuumed.join(', ') || 'none'}`,
    );
  }
  if (process.env.FUNCTION_STATS) {
    // Needs `track_functions = 'pl'` on the server (ALTER SYSTEM + reload) before the run; with
    // 'all', a LANGUAGE sql function listed here ran as a call, i.e. was not inlined.
    const rows = await stack.sql<{ funcname: string; calls: bigint; total: number; self: number }[]>`
      SELECT funcname, calls, round(total_time::numeric, 1)::float AS total, round(self_time::numeric, 1)::float AS self
        FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 25`;
    for (const r of rows)
      console.log(`${r.funcname.padEnd(45)} calls ${r.calls} total ${r.total} ms self ${r.self} ms`);
    const tables = await stack.sql<Record<string, unknown>[]>`
      SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, idx_scan, autovacuum_count, autoanalyze_count
        FROM pg_stat_user_tables ORDER BY n_tup_ins + n_tup_upd DESC LIMIT 15`;
    // pg_stat_user_tables' counters are bigint (postgres.js BigInt): JSON.stringify refuses those.
    for (const t of tables)
      console.log(JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  }
} finally {
  await stack.stop();
}
