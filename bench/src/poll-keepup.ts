// Diagnostic (not part of `pnpm bench`): does the poller keep up with a sustained submit rate? With
// webhooks off it completes every job, 5 s or more after the capture. An open loop of jobs.submit over
// 1,000 tenants at a fixed rate; every 5 s, the jobs awaiting completion and those accepted more than
// 10 s ago (none while the poller keeps up), and the gateway CPU per job at the end.
// `pnpm --filter @tollgate/bench exec tsx src/poll-keepup.ts` [rate/s, default 500] [seconds, default 40]
// (TENANTS=n spreads the load over n tenants instead of 1,000; TENANTS=1 is the hot tenant.)
// POLL_CONCURRENCY / POLL_BATCH_SIZE / POLL_INTERVAL in the environment are passed to the gateway.
import { performance } from 'node:perf_hooks';
import { cpuMs } from './cpu';
import { runOpenLoop } from './load';
import { submitVia, targetOf, verifySubmit } from './scenarios';
import { createTenants, startStack } from './stack';

const rps = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 40);
const log = (line: string) => process.stderr.write(`${line}\n`);
const stack = await startStack({ databaseUrl: process.env.DATABASE_URL, dbPoolMax: 10, log });
try {
  const tenants = await createTenants(stack, {
    count: Number(process.env.TENANTS ?? 1000),
    label: 'keep',
    balanceMicroCents: 1e15,
  });
  const target = targetOf(stack.gateway.url);
  const count = async () => {
    const [r] = await stack.sql<{ pending: number; old: number; done: number }[]>`
      SELECT count(*) FILTER (WHERE status IN ('pending','processing'))::int AS pending,
             count(*) FILTER (WHERE status IN ('pending','processing') AND created_at < now() - interval '10 seconds')::int AS old,
             count(*) FILTER (WHERE status = 'completed')::int AS done
      FROM jobs`;
    return r;
  };
  const t0 = performance.now();
  const cpu0 = cpuMs(stack.gateway.child.pid ?? 0) ?? 0;
  const timer = setInterval(async () => {
    const c = await count();
    log(
      `t=${((performance.now() - t0) / 1000).toFixed(0)}s pending ${c?.pending} older-than-10s ${c?.old} completed ${c?.done}`,
    );
  }, 5000);
  const r = await runOpenLoop({
    target,
    durationMs: seconds * 1000,
    rps,
    make: submitVia(tenants),
    verify: verifySubmit,
  });
  clearInterval(timer);
  const after = await count();
  const cpu1 = cpuMs(stack.gateway.child.pid ?? 0) ?? 0;
  log(
    `open loop ${rps}/s: ok ${r.ok} failed ${r.failed} p50 ${r.latency.p50Ms} p99 ${r.latency.p99Ms}; at end pending ${after?.pending} older-than-10s ${after?.old}; gateway CPU ${((cpu1 - cpu0) / r.ok).toFixed(3)} ms/job (submits + completions so far)`,
  );
} finally {
  await stack.stop();
}
