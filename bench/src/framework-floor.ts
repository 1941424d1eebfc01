// Diagnostic (not part of `pnpm bench`): what the gateway's server stack costs before any of its own
// code runs. The same JSON POST (the bench's `jobs.submit` body, answered with a fixed job) served as
// a plain Hono route and as a tRPC mutation through @hono/trpc-server (see framework-floor-server.ts),
// each in its own process, in alternating rounds, at the same fixed arrival rate (open loop, so each
// server does the same work per second); server CPU per request from /proc.
// `pnpm --filter @tollgate/bench exec tsx src/framework-floor.ts [rounds] [seconds] [requests per second]`
import path from 'node:path';
import { cpuMs } from './cpu';
import { runOpenLoop } from './load';
import { freePort, REPO_ROOT, startNodeChild, waitForHttp } from './processes';
import { INPUT, MODEL } from './stack';

const [rounds = 3, seconds = 5, rps = 2_000] = process.argv.slice(2).map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);
const body = JSON.stringify({ model: MODEL, input: INPUT });

const variants = [
  { name: 'Hono route', env: { FLOOR_VARIANT: 'hono' } },
  { name: 'tRPC mutation', env: { FLOOR_VARIANT: 'trpc', FLOOR_MIDDLEWARES: '0' } },
  // The gateway's procedures have two: `base` (error mapping, metrics) and the role's.
  { name: 'tRPC mutation + 2 middlewares', env: { FLOOR_VARIANT: 'trpc', FLOOR_MIDDLEWARES: '2' } },
] as const;

async function measure(env: Record<string, string>): Promise<{ rps: number; cpuMsPerRequest: number }> {
  const port = await freePort();
  const child = startNodeChild({
    name: 'framework floor server',
    cwd: path.join(REPO_ROOT, 'bench'),
    script: 'src/framework-floor-server.ts',
    env: { ...env, FLOOR_PORT: String(port), NODE_ENV: 'production' },
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
    const target = { host: '127.0.0.1', port };
    const make = () => ({
      method: 'POST' as const,
      path: '/trpc/jobs.submit',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const serverCpuMs = () => {
      const ms = cpuMs(child.pid);
      if (ms === null) throw new Error(`cannot read /proc/${child.pid}/stat: this script needs Linux`);
      return ms;
    };
    await runOpenLoop({ target, durationMs: 2_000, rps, make }); // warm-up: JIT, sockets
    const before = serverCpuMs();
    const run = await runOpenLoop({ target, durationMs: seconds * 1000, rps, make });
    const used = serverCpuMs() - before;
    if (run.failed > 0) throw new Error(`${run.failed} requests failed: ${JSON.stringify(run.errors)}`);
    return { rps: run.okPerSecond, cpuMsPerRequest: used / Math.max(1, run.ok) };
  } finally {
    await child.stop();
  }
}

const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let round = 1; round <= rounds; round++) {
  for (const v of variants) {
    const r = await measure(v.env);
    results.get(v.name)?.push(r.cpuMsPerRequest);
    log(
      `round ${round}/${rounds} ${v.name}: ${Math.round(r.rps)} req/s, ${r.cpuMsPerRequest.toFixed(3)} ms CPU each`,
    );
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const hono = mean(results.get('Hono route') ?? []);
console.log(`\nserver CPU per request (mean of ${rounds} rounds of ${seconds} s at ${rps} req/s)`);
for (const [name, xs] of results)
  console.log(
    `${name.padEnd(32)} ${mean(xs).toFixed(3)} ms  ${(mean(xs) / hono).toFixed(2)} × the Hono route`,
  );
