import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatUsd } from '@tollgate/pricing';
import { parse } from 'csv-parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { seedTopUps } from './ledger-seed.ts';

const TRANSACTIONS = 100_000; // 2 lines each → 200,000 ledger lines
const AMOUNT = 1_234_567n;
const MB = 1024 * 1024;

/** A full GC on demand (V8 flag set at runtime), so we measure live memory, not garbage not yet collected. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('GET /reports/ledger.csv streams from Postgres (COPY … TO STDOUT)', () => {
  let h: Harness;
  let tenantId: string;
  beforeAll(async () => {
    h = await startHarness();
    ({ tenantId } = await h.createTenant());
    await seedTopUps(h.db.sql, { tenantId, transactions: TRANSACTIONS, amountMicroCents: AMOUNT });
  }, 300_000);
  afterAll(async () => {
    await h.close();
  });

  it('≥ 200,000 rows with bounded memory growth, every row parsed and checked', async () => {
    const token = await h.token({ role: 'finance', sub: 'finance-stream' });
    const day = 86_400_000;
    const q = new URLSearchParams({
      from: new Date(Date.now() - day).toISOString(),
      to: new Date(Date.now() + day).toISOString(),
    });
    const [expected] = await h.db.sql<{ n: string }[]>`SELECT count(*)::text AS n FROM ledger_lines`;
    expect(Number(expected?.n)).toBeGreaterThanOrEqual(2 * TRANSACTIONS);

    const gc = collectGarbage();
    gc();
    const base = process.memoryUsage();
    // Live heap (after a full GC) sampled every 20,000 rows while the response is being read: a
    // buffering server or reader would grow it by the size of the data read so far.
    const liveHeap: number[] = [];
    let peakRss = base.rss;
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      liveHeap.push(m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    };

    const res = await fetch(`${h.url}/reports/ledger.csv?${q}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="ledger-.+\.csv"$/);
    if (!res.body) throw new Error('no body');

    // Parse as we read (csv-parse's streaming parser): neither side ever holds the whole file.
    const parser = parse({ columns: true });
    let rows = 0;
    let bytes = 0;
    let sum = 0n;
    let seeded = 0;
    let badUsd = 0;
    parser.on('readable', () => {
      for (let r = parser.read() as Record<string, string> | null; r !== null; r = parser.read()) {
        rows += 1;
        const amount = BigInt(r.amount_micro_cents ?? 'x');
        sum += amount;
        if (formatUsd(amount) !== r.amount_usd) badUsd += 1;
        if (r.reference?.startsWith('wire "')) seeded += 1;
        if (rows % 20_000 === 0) sample();
      }
    });
    const done = new Promise<void>((resolve, reject) => {
      parser.on('end', resolve);
      parser.on('error', reject);
    });
    const reader = res.body.getReader();
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      bytes += value.byteLength;
      if (!parser.write(Buffer.from(value))) await new Promise((r) => parser.once('drain', r));
    }
    parser.end();
    await done;
    sample();

    expect(rows, 'every ledger line, once').toBe(Number(expected?.n));
    expect(seeded, 'seeded lines (RFC 4180 quotes and commas in the reference)').toBe(2 * TRANSACTIONS);
    expect(sum, 'lines sum to zero (double entry)').toBe(0n);
    expect(badUsd, 'amount_usd is the exact decimal of amount_micro_cents').toBe(0);
    expect(liveHeap.length).toBeGreaterThanOrEqual(10);
    const heapGrowth = (Math.max(...liveHeap) - base.heapUsed) / MB;
    const rssGrowth = (peakRss - base.rss) / MB;
    // The CSV is tens of MB; buffering it (or its rows as objects) would grow the heap far beyond this.
    expect(bytes / MB, 'the file is much larger than the memory bound').toBeGreaterThan(30);
    expect(
      heapGrowth,
      `heap grew ${heapGrowth.toFixed(1)} MB while streaming ${(bytes / MB).toFixed(1)} MB`,
    ).toBeLessThan(16);
    expect(rssGrowth, `rss grew ${rssGrowth.toFixed(1)} MB`).toBeLessThan(128);
    console.info(
      `ledger.csv: ${rows} rows, ${(bytes / MB).toFixed(1)} MB; heap +${heapGrowth.toFixed(1)} MB, rss +${rssGrowth.toFixed(1)} MB`,
    );
  });
  it('a client that goes away mid-download cancels the COPY and frees its connection', async () => {
    const token = await h.token({ role: 'finance', sub: 'finance-stream' });
    const day = 86_400_000;
    const q = new URLSearchParams({
      from: new Date(Date.now() - day).toISOString(),
      to: new Date(Date.now() + day).toISOString(),
    });
    // COPY statements of this database's client backends: other test files may stream CSVs from
    // their own databases, and a parallel plan's workers show the leader's query text too.
    const copyBackends = () => h.db.sql<{ pid: number; backend_type: string; state: string }[]>`
      SELECT pid, backend_type, state FROM pg_stat_activity
       WHERE query LIKE 'COPY (%' AND state <> 'idle' AND pid <> pg_backend_pid()
         AND datname = current_database() AND backend_type = 'client backend'`;
    const copies = async () => (await copyBackends()).length;
    const abort = new AbortController();
    const res = await fetch(`${h.url}/reports/ledger.csv?${q}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(first?.done).toBe(false);
    const running = await copyBackends();
    expect(
      running.length,
      `the COPY is running while the client reads slowly: ${JSON.stringify(running)}`,
    ).toBe(1);
    abort.abort();
    await waitFor(async () => (await copies()) === 0, { what: 'the cancelled COPY to end' });
    // The pool is usable again: a small report still answers in full.
    const again = await fetch(
      `${h.url}/reports/ledger.csv?${new URLSearchParams({ ...Object.fromEntries(q), tenantId })}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(again.status).toBe(200);
    expect((await again.text()).split('\r\n').length).toBeGreaterThan(TRANSACTIONS);
  });
});
