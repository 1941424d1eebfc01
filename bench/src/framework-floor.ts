// Diagnostic (not part of `pnpm bench`): what the gateway's server stack costs before any of its own
// code runs. The same JSON POST (the bench's `jobs.submit` body, answered with a fixed job) served as
// a plain Hono route and as a tRPC mutation through @hono/trpc-server (see framework-floor-server.ts),
// each in its own process, in alternating rounds; CPU per request from /proc.
// `pnpm --filter @tollgate/bench exec tsx src/framework-floor.ts [rounds] [seconds] [concurrency]`
import path from 'node:path';
import { cpuMs } from './cpu';
import { runClosedLoop } from './load';
import { freePort, REPO_ROOT, startNodeChild, waitForHttp } from './processes';
import { INPUT, MODEL } from './stack';

const [rounds = 2, seconds = 5, concurrency = 16] = process.argv.slice(2).map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);
const body = JSON.stringify({ model: MODEL, input: INPUT });

const variants = [
  { name: 'Hono route', env: { FLOOR_VARIANT: 'hono' } },
  { name: 'tRPC mutation', env: { FLOOR_VARIANT: 'trpc', FLOOR_MIDDLEWARES: '0' } },
  { name: 'tRPC mutation + 4 middlewares', env: { FLOOR_VARIANT: 'trpc', FLOOR_MIDDLEWARES: '4' } },
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
    await runClosedLoop({ target, durationMs: 2_000, concurrency, make }); // warm-up: JIT, sockets
    const before = cpuMs(child.pid) ?? 0;
    const run = await runClosedLoop({ target, durationMs: seconds * 1000, concurrency, make });
    const used = (cpuMs(child.pid) ?? 0) - before;
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
console.log(
  `\nserver CPU per request (mean of ${rounds} rounds, concurrency ${concurrency}, ${seconds} s each)`,
);
for (const [name, xs] of results)
  console.log(
    `${name.padEnd(32)} ${mean(xs).toFixed(3)} ms  ${(mean(xs) / hono).toFixed(2)} × the Hono route`,
  );
