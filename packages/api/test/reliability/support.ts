// Shared pieces of the reliability suite: seeds, the invariant checker (reconcile + direct SQL sums
// of ledger lines), and a gateway run as a child process (the production build of `src/serve.ts`,
// bundled once per test file) that can be SIGKILLed.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, Sql } from '@tollgate/db/client';
import { freePort as anyFreePort } from '@tollgate/db/embedded';
import { reconcile } from '@tollgate/db/ledger';
import type { Simulator } from '@tollgate/pixelbyte/simulator';
import { buildGateway, NODE_FLAGS } from '../../scripts/build.ts';
import { waitFor } from '../harness.ts';

/** `CHAOS_SEED` when set (to replay a failure), else a fresh one. Printed in every failure message. */
export function chaosSeed(): number {
  const raw = process.env.CHAOS_SEED;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`CHAOS_SEED must be an integer, got "${raw}"`);
    return n;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** `pnpm test:chaos` sets CHAOS_SCALE=full: the bigger variants. */
export const FULL_SCALE = process.env.CHAOS_SCALE === 'full';

/** mulberry32: a tiny seeded PRNG so a fault schedule is reproducible from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}

export type Prng = ReturnType<typeof prng>;

const TERMINAL = ['completed', 'failed', 'cancelled', 'rejected'] as const;

export type MoneyFigures = {
  jobs: number;
  byStatus: Record<string, number>;
  capturedMicroCents: bigint;
  refundedMicroCents: bigint;
  completedPricesMicroCents: bigint;
  needsReview: number;
};

/**
 * The invariants of product.md, checked from the database itself:
 * - `reconcile` finds nothing (balances = lines, lines sum to zero, holds resolved once, jobs settled);
 * - every job is terminal;
 * - Σ captures − Σ refunds (platform_revenue lines) = Σ prices of completed jobs;
 * - per hold: at most one capture, one release, one refund; never both capture and release;
 * - a failed/cancelled job's refund equals its captured charge; a rejected job was never charged;
 * - an upstream job is linked to at most one of our jobs.
 * Every failure message carries `label` (scenario + seed).
 */
export async function checkInvariants(db: Db, sql: Sql, label: string): Promise<MoneyFigures> {
  const problems: string[] = [];
  const r = await reconcile(db);
  if (!r.ok || r.discrepancies.length > 0) {
    problems.push(
      `reconcile: ${JSON.stringify(r.discrepancies.slice(0, 5), (_k, v) => (typeof v === 'bigint' ? `${v}` : v))}`,
    );
  }
  const statuses = await sql<{ status: string; n: bigint }[]>`
    SELECT status::text AS status, count(*)::bigint AS n FROM jobs GROUP BY status`;
  const byStatus: Record<string, number> = {};
  let jobs = 0;
  for (const s of statuses) {
    byStatus[s.status] = Number(s.n);
    jobs += Number(s.n);
    if (!(TERMINAL as readonly string[]).includes(s.status)) {
      problems.push(`${s.n} job(s) still ${s.status}`);
    }
  }
  const [sums] = await sql<{ captured: bigint; refunded: bigint }[]>`
    SELECT
      coalesce(sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'capture'), 0)::bigint AS captured,
      coalesce(-sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'refund'), 0)::bigint AS refunded
    FROM ledger_lines l JOIN ledger_transactions t ON t.id = l.transaction_id
    WHERE l.account = 'platform_revenue'`;
  const [completed] = await sql<{ total: bigint }[]>`
    SELECT coalesce(sum(cost_micro_cents), 0)::bigint AS total FROM jobs WHERE status = 'completed'`;
  const captured = sums?.captured ?? 0n;
  const refunded = sums?.refunded ?? 0n;
  const completedPrices = completed?.total ?? 0n;
  if (captured - refunded !== completedPrices) {
    problems.push(
      `captures ${captured} − refunds ${refunded} = ${captured - refunded} ≠ prices of completed jobs ${completedPrices}`,
    );
  }
  const perHold = await sql<{ hold_id: string; captures: bigint; releases: bigint; refunds: bigint }[]>`
    SELECT hold_id,
      count(*) FILTER (WHERE kind = 'capture')::bigint AS captures,
      count(*) FILTER (WHERE kind = 'release')::bigint AS releases,
      count(*) FILTER (WHERE kind = 'refund')::bigint AS refunds
    FROM ledger_transactions WHERE hold_id IS NOT NULL GROUP BY hold_id
    HAVING count(*) FILTER (WHERE kind = 'capture') > 1 OR count(*) FILTER (WHERE kind = 'release') > 1
        OR count(*) FILTER (WHERE kind = 'refund') > 1
        OR (count(*) FILTER (WHERE kind = 'capture') > 0 AND count(*) FILTER (WHERE kind = 'release') > 0)
    LIMIT 5`;
  if (perHold.length > 0) problems.push(`holds resolved more than once: ${JSON.stringify(perHold, big)}`);
  const badJobs = await sql<{ id: string; status: string; charged: bigint; refunded: bigint }[]>`
    SELECT j.id, j.status::text AS status,
      coalesce(sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'capture'), 0)::bigint AS charged,
      coalesce(-sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'refund'), 0)::bigint AS refunded
    FROM jobs j
    LEFT JOIN ledger_transactions t ON t.hold_id = j.hold_id
    LEFT JOIN ledger_lines l ON l.transaction_id = t.id AND l.account = 'platform_revenue'
    GROUP BY j.id
    HAVING (j.status = 'completed' AND (coalesce(sum(l.amount_micro_cents) FILTER (WHERE t.kind = 'capture'), 0) <> j.cost_micro_cents
                                      OR count(*) FILTER (WHERE t.kind = 'refund') > 0))
        OR (j.status IN ('failed', 'cancelled') AND coalesce(sum(l.amount_micro_cents), 0) <> 0)
        OR (j.status = 'rejected' AND count(*) FILTER (WHERE t.kind = 'capture') > 0)
    LIMIT 5`;
  if (badJobs.length > 0) problems.push(`jobs charged wrongly: ${JSON.stringify(badJobs, big)}`);
  const shared = await sql<{ upstream_job_id: string; n: bigint }[]>`
    SELECT upstream_job_id, count(*)::bigint AS n FROM jobs WHERE upstream_job_id IS NOT NULL
    GROUP BY upstream_job_id HAVING count(*) > 1 LIMIT 5`;
  if (shared.length > 0) problems.push(`upstream jobs linked twice: ${JSON.stringify(shared, big)}`);
  const [review] = await sql<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM jobs WHERE needs_review`;
  if (problems.length > 0) throw new Error(`[${label}] invariants broken:\n  - ${problems.join('\n  - ')}`);
  return {
    jobs,
    byStatus,
    capturedMicroCents: captured,
    refundedMicroCents: refunded,
    completedPricesMicroCents: completedPrices,
    needsReview: Number(review?.n ?? 0),
  };
}

/** True when no job is left in a non-terminal status. */
export async function allJobsTerminal(sql: Sql): Promise<boolean> {
  const [r] = await sql<{ n: bigint }[]>`
    SELECT count(*)::bigint AS n FROM jobs WHERE status IN ('submitting', 'pending', 'processing', 'unknown')`;
  return r?.n === 0n;
}

/** The end of every scenario: wait until every job is terminal, then check all the invariants. */
export async function settleAndCheck(
  t: { db: Db; sql: Sql },
  sim: Simulator,
  label: string,
  timeoutMs: number,
): Promise<MoneyFigures> {
  await waitFor(() => allJobsTerminal(t.sql), {
    timeoutMs,
    intervalMs: 250,
    what: `[${label}] every job terminal`,
  });
  const figures = await checkInvariants(t.db, t.sql, label);
  await checkUpstream(t.sql, sim, label);
  return figures;
}

function big(_k: string, v: unknown) {
  return typeof v === 'bigint' ? `${v}` : v;
}

/**
 * The upstream side: no second upstream job for one submit (each simulator job is linked to at most
 * one of ours, and each of our jobs to at most one upstream job — the schema holds one id), and our
 * completed jobs are completed upstream.
 */
export async function checkUpstream(sql: Sql, sim: Simulator, label: string): Promise<void> {
  const ours = await sql<{ id: string; status: string; upstream_job_id: string | null }[]>`
    SELECT id, status::text AS status, upstream_job_id FROM jobs`;
  const simJobs = new Map(sim.control.jobs().map((j) => [j.jobId, j]));
  const problems: string[] = [];
  for (const j of ours) {
    if (!j.upstream_job_id) {
      if (j.status === 'completed') problems.push(`${j.id} completed without an upstream job`);
      continue;
    }
    const up = simJobs.get(j.upstream_job_id);
    if (!up) problems.push(`${j.id} names ${j.upstream_job_id}, which Pixelbyte never created`);
    else if (j.status === 'completed' && up.status !== 'completed')
      problems.push(`${j.id} completed but upstream is ${up.status}`);
  }
  // Submits our gateway made vs upstream jobs created: never more jobs than submits that reached it.
  const counts = sim.control.counts();
  if (counts.jobsCreated > ours.length)
    problems.push(`${counts.jobsCreated} upstream jobs for ${ours.length} submits`);
  if (problems.length > 0)
    throw new Error(`[${label}] upstream check failed:\n  - ${problems.slice(0, 10).join('\n  - ')}`);
}

/** Ports this process has handed out: a rig keeps its port across gateway restarts. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (the child gateway keeps it across restarts: webhook URLs name it),
 * never one already handed out by this process: rigs run concurrently, and the OS may give a port
 * back as soon as it is released.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

const API_DIR = fileURLToPath(new URL('../../', import.meta.url));

export type GatewayProcess = {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit signal/code once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

let bundled: Promise<string> | undefined;

/**
 * The gateway's production build (`buildGateway` from `scripts/build.ts`, the same bundle `pnpm build`
 * writes to `dist/`), built once per test file into /tmp and written once per source version, so a
 * child gateway boots in well under a second instead of having tsx transpile the whole gateway on
 * every boot (two boots per crash case). Not `dist/` itself: test files run in parallel, and a
 * developer's `dist/` is theirs. Paths the sources compute from `import.meta.url` (the migrations
 * folder, the repo root) are resolved relative to the bundle, so any directory one level under the
 * temp dir gives the same bundle: it is built for `<tmp>/tollgate-gateway/` and stored in
 * `<tmp>/tollgate-gateway-<content hash>/`.
 */
export function gatewayBundle(): Promise<string> {
  bundled ??= (async () => {
    const { files, outfile: builtFor } = await buildGateway({
      outfile: join(tmpdir(), 'tollgate-gateway', 'serve.mjs'),
      write: false,
    });
    const hash = createHash('sha256');
    for (const f of files ?? []) hash.update(f.path).update(f.text);
    const dir = join(tmpdir(), `tollgate-gateway-${hash.digest('hex').slice(0, 16)}`);
    const outfile = join(dir, basename(builtFor));
    if (!existsSync(outfile)) {
      // Written into a private directory then renamed, so a parallel test file never runs a half-written bundle.
      const partial = mkdtempSync(`${dir}.tmp-`);
      for (const f of files ?? []) writeFileSync(join(partial, basename(f.path)), f.text);
      try {
        renameSync(partial, dir);
      } catch (err) {
        // Another test file stored the same bundle first.
        rmSync(partial, { recursive: true, force: true });
        if (!existsSync(outfile)) throw err;
      }
    }
    return outfile;
  })();
  return bundled;
}

/** Starts the bundled `src/serve.ts` with `env` and waits until `/readyz` answers 200. */
export async function startGatewayProcess(opts: {
  port: number;
  env: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<GatewayProcess> {
  const url = `http://127.0.0.1:${opts.port}`;
  // Plain node on the pre-built bundle (no tsx CLI, which forks): the SIGKILLed process is the child we watch.
  const child = spawn(process.execPath, [...NODE_FLAGS, await gatewayBundle()], {
    cwd: API_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(opts.port),
      // info: readiness is the child's own "tollgate is listening" line (below).
      LOG_LEVEL: 'info',
      // Real JWT keys (outside dev mode) need a decision for /metrics: the suite reads it openly.
      METRICS_PUBLIC: 'true',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    if (process.env.TOLLGATE_TEST_LOG === '1') process.stderr.write(b);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (gone) throw new Error(`gateway exited before it was ready:\n${out.slice(-4000)}`);
    // Ready = THIS child says it listens, and /readyz answers 200. /readyz alone is not enough: while
    // the child boots, another process may hold the port (a concurrent rig's gateway, or anything
    // that got it from the OS while it was free between two restarts), and a 200 from it would make
    // this test talk to the wrong gateway (seen once in CI: two crash cases' submits in one database).
    try {
      if (out.includes('"msg":"tollgate is listening"') && (await fetch(`${url}/readyz`)).status === 200)
        break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready in time:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    exited,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
}
