// Diagnostic (not part of `pnpm bench`): Postgres CPU (all its processes, from /proc) per job step,
// each step run alone over N jobs at the gateway's pool size through the ledger's own functions:
// open (tollgate_open_job), capture (tollgate_capture_job), the poller's claim (batches of 100) and
// complete (tollgate_complete_job); and opens sent straight to tollgate_open_jobs in groups of GROUP
// (env, default 10) across tenants, what group commit saves. Tells which step costs the database most.
// With 10 concurrent callers the ledger's own group commit (@tollgate/db/client groupStatements) groups the steps too.
// `pnpm --filter @tollgate/bench exec tsx src/db-split.ts` [jobs, default 3000]
// SETUP_SQL='…' runs once after the migrations (an A/B of a table setting or a trigger, e.g.
// `ALTER TABLE usage_daily DISABLE TRIGGER …` to see what a trigger costs per step).
import { performance } from 'node:perf_hooks';
import { createDb, migrate } from '@tollgate/db/client';
import { advanceJob, captureJob, claimJobsToPoll, createTenant, openJob, topUp } from '@tollgate/db/ledger';
import { postgresCpuMs } from './cpu';
import { startDatabase } from './processes';
import { INPUT, MODEL, PRICE_MICRO_CENTS } from './stack';

const N = Number(process.argv[2] ?? 3000);
const POOL = 10;
const log = (line: string) => process.stderr.write(`${line}\n`);

const database = await startDatabase(process.env.DATABASE_URL);
try {
  await migrate(database.url);
  const { db, sql, close } = createDb(database.url, { max: POOL });
  if (process.env.SETUP_SQL) await sql.unsafe(process.env.SETUP_SQL);
  const tenants: string[] = [];
  for (let i = 0; i < 100; i++) {
    const t = await createTenant(db, { name: `split-${i}`, actor: 'bench' });
    await topUp(db, {
      tenantId: t.id,
      amountMicroCents: 10n ** 15n,
      idempotencyKey: `t-${t.id}`,
      reference: 'x',
      actor: 'bench',
    });
    tenants.push(t.id);
  }
  const jobIds: string[] = [];
  const phase = async (name: string, count: number, step: (i: number) => Promise<unknown>) => {
    let next = 0;
    const c0 = postgresCpuMs();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: POOL }, async () => {
        for (let i = next++; i < count; i = next++) await step(i);
      }),
    );
    const ms = performance.now() - t0;
    const pg = postgresCpuMs() - c0;
    log(
      `${name.padEnd(34)} ${count} in ${ms.toFixed(0)} ms = ${((count * 1000) / ms).toFixed(0)}/s; postgres CPU ${(pg / N).toFixed(3)} ms per job`,
    );
  };
  const openArgs = (i: number) => ({
    tenantId: tenants[i % 100] as string,
    model: MODEL,
    input: INPUT,
    quoteMicroCents: PRICE_MICRO_CENTS,
    listCostMicroCents: PRICE_MICRO_CENTS,
    priceVersion: 'x',
    fingerprint: 'f',
    tags: [],
  });
  const uncounted = async (n: number, step: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < n; i++) await step(i);
  };
  // Warm-up (plans, caches), not counted.
  await uncounted(200, async (i) => {
    const r = await openJob(db, openArgs(i));
    if (r.ok)
      await captureJob(db, {
        jobId: r.job.id,
        upstreamJobId: `up_w${i}`,
        upstreamCostMicroCents: PRICE_MICRO_CENTS,
        estimatedCompletionTime: null,
      });
  });
  await phase('open (tollgate_open_job)', N, async (i) => {
    const r = await openJob(db, openArgs(i));
    if (!r.ok) throw new Error(r.reason);
    jobIds[i] = r.job.id;
  });
  const G = Number(process.env.GROUP ?? 10);
  const ids = () =>
    ['job', 'hold', 'txn'].map(
      (p) => `${p}_${Math.random().toString(36).slice(2, 14)}${Math.random().toString(36).slice(2, 10)}`,
    );
  await phase(`open, groups of ${G} across tenants`, Math.floor(N / G), async (g) => {
    const entries = Array.from({ length: G }, (_, k) => {
      const [jobId, holdId, txnId] = ids();
      return {
        jobId,
        holdId,
        txnId,
        tenantId: tenants[(g * G + k) % 100],
        model: MODEL,
        input: INPUT,
        quote: '40000',
        listCost: '40000',
        priceVersion: 'x',
        tags: [],
        webhookUrl: null,
        idempotencyKey: null,
        fingerprint: 'f',
        maxDurationSeconds: 3600,
        actor: 'bench',
      };
    }).sort((a, b) => String(a.tenantId).localeCompare(String(b.tenantId)));
    const rows = await sql`SELECT id FROM tollgate_open_jobs(${JSON.stringify(entries)}::jsonb)`;
    if (rows.length !== G) throw new Error('group open failed');
  });
  await phase('capture (tollgate_capture_job)', N, (i) =>
    captureJob(db, {
      jobId: jobIds[i] as string,
      upstreamJobId: `up_${i}`,
      upstreamCostMicroCents: PRICE_MICRO_CENTS,
      estimatedCompletionTime: null,
    }),
  );
  await sql`UPDATE jobs SET next_poll_at = now() - interval '1 second' WHERE status = 'pending'`;
  await phase('claim (claimJobsToPoll, 100 a batch)', Math.ceil((N + 200) / 100), () =>
    claimJobsToPoll(db, { limit: 100 }),
  );
  await phase('complete (tollgate_complete_job)', N, (i) =>
    advanceJob(db, {
      jobId: jobIds[i] as string,
      upstream: {
        status: 'completed',
        output: 'https://x/y.png',
        outputs: [{ url: 'https://x/y.png', type: 'image' }],
        error: null,
        completedAt: new Date(),
      },
    }),
  );
  await phase('SELECT 1 (round trip + commit floor)', N, () => sql`SELECT 1`);
  await close();
} finally {
  await database.stop();
}
