// Diagnostic (not part of `pnpm bench`): where the gateway's CPU per job goes, split by phase.
// `pnpm --filter @tollgate/bench exec tsx src/cpu-split.ts` → gateway CPU ms per /healthz request
// (its HTTP stack alone), per jobs.get (HTTP + auth + tRPC + one read), per accepted jobs.submit
// (until the answer) and per job completed by the poller afterwards (claim + upstream GET + complete).
import { performance } from 'node:perf_hooks';
import { cpuMs } from './cpu';
import { runClosedLoop } from './load';
import { submitVia, targetOf, verifySubmit } from './scenarios';
import { createTenants, startStack } from './stack';

const started = performance.now();
const log = (line: string) => process.stderr.write(`${line}\n`);
const stack = await startStack({
  databaseUrl: process.env.DATABASE_URL,
  dbPoolMax: 10,
  log,
  ...(process.env.PROFILE_DIR ? { profileDir: process.env.PROFILE_DIR } : {}),
});
try {
  const tenants = await createTenants(stack, { count: 10, label: 'split', balanceMicroCents: 1e15 });
  const target = targetOf(stack.gateway.url);
  const pid = stack.gateway.child.pid;
  const submit = submitVia(tenants);
  const inFlight = async () => {
    const [r] = await stack.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM jobs WHERE status IN ('submitting', 'pending', 'processing')`;
    return r?.n ?? 0;
  };
  const drain = async () => {
    const t0 = performance.now();
    while ((await inFlight()) > 0 && performance.now() - t0 < 120_000)
      await new Promise((r) => setTimeout(r, 250));
  };
  const phase = async (name: string, run: () => Promise<number>) => {
    const before = cpuMs(pid) ?? 0;
    const n = await run();
    const after = cpuMs(pid) ?? 0;
    log(
      `[t=${((performance.now() - started) / 1000).toFixed(1)}s] ${name}: ${n} ok, gateway CPU ${((after - before) / Math.max(1, n)).toFixed(3)} ms each`,
    );
    return n;
  };
  await runClosedLoop({ target, durationMs: 3_000, concurrency: 16, make: submit, verify: verifySubmit });
  await drain();
  const idleBefore = cpuMs(pid) ?? 0;
  await new Promise((r) => setTimeout(r, 5_000));
  log(
    `idle: gateway CPU ${(((cpuMs(pid) ?? 0) - idleBefore) / 5).toFixed(1)} ms per second (workers polling)`,
  );
  await phase(
    'GET /healthz',
    async () =>
      (
        await runClosedLoop({
          target,
          durationMs: 4_000,
          concurrency: 16,
          make: () => ({ method: 'GET', path: '/healthz', headers: {} }),
        })
      ).ok,
  );
  const first = tenants[0]?.headers ?? {};
  const [job] = await stack.sql<
    { id: string }[]
  >`SELECT id FROM jobs WHERE tenant_id = ${tenants[0]?.id ?? ''} LIMIT 1`;
  await phase(
    'jobs.get',
    async () =>
      (
        await runClosedLoop({
          target,
          durationMs: 4_000,
          concurrency: 16,
          make: () => ({
            method: 'GET',
            path: `/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: job?.id }))}`,
            headers: first,
          }),
        })
      ).ok,
  );
  let accepted = 0;
  await phase('jobs.submit (until answered)', async () => {
    accepted = (
      await runClosedLoop({ target, durationMs: 5_000, concurrency: 16, make: submit, verify: verifySubmit })
    ).ok;
    return accepted;
  });
  await phase('completion by the poller (per job submitted above)', async () => {
    await drain();
    return accepted;
  });
} finally {
  await stack.stop();
}
