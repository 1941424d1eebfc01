// Diagnostic (not part of `pnpm bench`): gateway jobs.submit latency against the arrival rate, open
// loop, with the simulator's own latency at the same rate alongside: where added latency starts to
// grow, and whether it is a queue (load) or a floor (work on the request's path).
// `pnpm --filter @tollgate/bench exec tsx src/latency-curve.ts` [seconds per rate, default 6] [rates, default 50,100,200,300,400,500]
import { runOpenLoop } from './load';
import { submitVia, targetOf, upstreamSubmit, verifySubmit, verifyUpstream } from './scenarios';
import { createTenants, startStack } from './stack';

const seconds = Number(process.argv[2] ?? 6);
const rates = (process.argv[3] ?? '50,100,200,300,400,500').split(',').map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);

const stack = await startStack({ databaseUrl: process.env.DATABASE_URL, dbPoolMax: 10, log });
try {
  const tenants = await createTenants(stack, { count: 100, label: 'lcurve', balanceMicroCents: 1e15 });
  const gateway = targetOf(stack.gateway.url);
  const sim = targetOf(stack.sim.url);
  const submit = submitVia(tenants);
  await runOpenLoop({ target: gateway, durationMs: 3_000, rps: 200, make: submit, verify: verifySubmit });
  log('rate/s   gateway p50 / p99 ms   simulator p50 / p99 ms   added p50 / p99 ms   failed');
  for (const rps of rates) {
    const d = await runOpenLoop({
      target: sim,
      durationMs: (seconds * 1000) / 2,
      rps,
      make: upstreamSubmit,
      verify: verifyUpstream,
    });
    const g = await runOpenLoop({
      target: gateway,
      durationMs: seconds * 1000,
      rps,
      make: submit,
      verify: verifySubmit,
    });
    const f = (n: number) => n.toFixed(2).padStart(7);
    log(
      `${String(rps).padStart(6)}   ${f(g.latency.p50Ms)} / ${f(g.latency.p99Ms)}      ${f(d.latency.p50Ms)} / ${f(d.latency.p99Ms)}        ${f(g.latency.p50Ms - d.latency.p50Ms)} / ${f(g.latency.p99Ms - d.latency.p99Ms)}   ${g.failed}`,
    );
  }
} finally {
  await stack.stop();
}
