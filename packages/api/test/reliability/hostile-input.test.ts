// Hostile input: property-based fuzzing (fast-check, seeded) of every tRPC procedure's input under
// every role, and of the webhook route; oversize and deeply nested JSON; header, query and path
// abuse. The gateway must never answer 500, never leak a stack, and never write on a rejection.
// Rerun a failure with CHAOS_SEED=<seed>.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/router.ts';
import { CHEAP_INPUT, CHEAP_MODEL, type Harness, startHarness } from '../harness.ts';
import { chaosSeed, FULL_SCALE } from './support.ts';

const SEED = chaosSeed();
const RUNS = FULL_SCALE ? 300 : 25;
const LABEL = `hostile input, CHAOS_SEED=${SEED}`;

let h: Harness;
let tokens: Record<'tenant' | 'admin' | 'finance' | 'none' | 'garbage', string | null>;
let tenantId: string;
let jobId: string;
let tried = 0;

beforeAll(async () => {
  h = await startHarness({ bodyLimitBytes: 64 * 1024 });
  const t = await h.createTenant({ balanceMicroCents: 10_000_000 });
  tenantId = t.tenantId;
  jobId = (await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT })).id;
  tokens = {
    tenant: t.token,
    admin: await h.token({ role: 'admin', sub: 'fuzz-admin' }),
    finance: await h.token({ role: 'finance', sub: 'fuzz-finance' }),
    none: null,
    garbage: 'eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ.',
  };
});

afterAll(async () => {
  console.info(`[${LABEL}] ${tried} hostile requests sent`);
  await h?.close();
});

type Answer = { status: number; text: string };

async function send(path: string, init: RequestInit): Promise<Answer> {
  tried++;
  const res = await fetch(`${h.url}${path}`, init);
  return { status: res.status, text: await res.text() };
}

/** No 500, no internals in the body. */
function expectClean(a: Answer, what: string) {
  expect(a.status, `[${LABEL}] ${what} → ${a.status} ${a.text.slice(0, 300)}`).not.toBe(500);
  expect(a.text, `[${LABEL}] ${what} leaked internals`).not.toMatch(/node_modules|\n\s+at |\.ts:\d+/);
}

const COUNTED_TABLES = [
  'tenants',
  'tenant_balances',
  'jobs',
  'holds',
  'ledger_transactions',
  'ledger_lines',
  'audit_log',
] as const;

/**
 * Row counts of the money and audit tables in ONE query (the harness's `rowCounts` makes one round
 * trip per table; this file takes two snapshots per hostile request, ~840 requests per run).
 */
async function rowCounts(): Promise<Record<string, number>> {
  const cols = COUNTED_TABLES.map((t) => `(SELECT count(*) FROM ${t})::bigint AS ${t}`).join(', ');
  const [r] = await h.db.sql.unsafe<Record<string, bigint>[]>(`SELECT ${cols}`);
  const out: Record<string, number> = {};
  for (const t of COUNTED_TABLES) out[t] = Number(r?.[t] ?? -1n);
  return out;
}

/** Runs `call`; when it is refused (status ≥ 400), no table may have changed. */
async function expectNoWriteOnRefusal(what: string, call: () => Promise<Answer>) {
  const before = await rowCounts();
  const a = await call();
  expectClean(a, what);
  if (a.status >= 400) {
    expect(await rowCounts(), `[${LABEL}] ${what} was refused (${a.status}) but wrote`).toEqual(before);
  }
  return a;
}

// Field names the procedures use, so fuzzed objects reach the validators rather than bouncing off.
const FIELDS = [
  'model',
  'input',
  'id',
  'tenantId',
  'amountMicroCents',
  'idempotencyKey',
  'reference',
  'reason',
  'cursor',
  'limit',
  'status',
  'from',
  'to',
  'groupBy',
  'name',
  'markupBps',
  'limits',
  'prompt',
  'tags',
  'maxCostMicroCents',
  'webhookUrl',
  'expiresInSeconds',
  'sub',
  'effectiveFrom',
  'resolution',
  '__proto__',
  'constructor',
];
const nasty = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '💸'.repeat(200),
    '9'.repeat(40),
    '-1',
    '1e308',
    'NaN',
    '0x10',
    CHEAP_MODEL,
    '../../etc/passwd',
    "'; DROP TABLE jobs; --",
    `job_${'a'.repeat(200)}`,
    'ten_x',
    '2026-13-45T99:99:99Z',
    'javascript:alert(1)',
    'http://169.254.169.254/latest/meta-data',
  ),
  fc.constantFrom(
    -1,
    0,
    1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    -0,
    0.5,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
  ),
  fc.constantFrom(null, true, false, [], {}),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    nasty,
    fc.jsonValue({ maxDepth: 2 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...FIELDS), tie('v'), { maxKeys: 4 }),
  ),
})).v;
const inputArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }),
  fc.record({ model: fc.constantFrom(CHEAP_MODEL, 'x/y/z'), input: value, idempotencyKey: value }),
  fc.record({ id: fc.oneof(fc.constant(jobIdRef()), value) }),
  fc.record({ tenantId: fc.oneof(fc.constant(tenantIdRef()), value), amountMicroCents: value }),
  value,
);
function jobIdRef() {
  return 'job_placeholder';
}
function tenantIdRef() {
  return 'ten_placeholder';
}
/** Replaces the placeholders with this run's real ids (known only after beforeAll). */
function realIds(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v ?? null)
      .replaceAll('job_placeholder', jobId)
      .replaceAll('ten_placeholder', tenantId),
  );
}

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
).map(([path, p]) => ({ path, type: p._def.type }));

describe('every procedure, every role, fuzzed input', () => {
  it('finds every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThan(20);
  });

  it.each(procedures)('$path ($type)', async ({ path, type }) => {
    await fc.assert(
      fc.asyncProperty(
        inputArb,
        fc.constantFrom('tenant', 'admin', 'finance', 'none', 'garbage') as fc.Arbitrary<keyof typeof tokens>,
        fc.boolean(),
        async (raw, role, asBatch) => {
          const input = realIds(raw);
          const token = tokens[role];
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (token) headers.authorization = `Bearer ${token}`;
          const wire = asBatch ? { 0: input } : input;
          const q = asBatch ? 'batch=1' : '';
          const what = `${path} as ${role} with ${JSON.stringify(input).slice(0, 200)}`;
          if (type === 'query') {
            await expectNoWriteOnRefusal(what, () =>
              send(`/trpc/${path}?${q}${q ? '&' : ''}input=${encodeURIComponent(JSON.stringify(wire))}`, {
                headers,
              }),
            );
          } else {
            await expectNoWriteOnRefusal(what, () =>
              send(`/trpc/${path}${q ? `?${q}` : ''}`, {
                method: 'POST',
                headers,
                body: JSON.stringify(wire),
              }),
            );
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });
});

describe('webhook route, fuzzed', () => {
  it('never 500, never a write without a valid token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(jobIdRef()), fc.string({ maxLength: 80 }), fc.constant('job_x')),
        fc.option(fc.string({ maxLength: 100 })),
        fc.oneof(
          fc.string({ maxLength: 2000 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.dictionary(
          fc.constantFrom('x-pixelbyte-signature', 'x-pixelbyte-timestamp', 'content-type', 'x-request-id'),
          fc.string({ maxLength: 200 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
        ),
        async (id, token, body, hdrs) => {
          const jid = encodeURIComponent(String(realIds(id)));
          const qs = token === null ? '' : `?token=${encodeURIComponent(token)}`;
          await expectNoWriteOnRefusal(`webhook ${jid}${qs}`, () =>
            send(`/webhooks/pixelbyte/${jid}${qs}`, { method: 'POST', headers: hdrs, body }),
          );
        },
      ),
      { seed: SEED, numRuns: RUNS * 4, endOnFailure: true },
    );
  });
});

describe('oversize, deep, and malformed payloads; header, query and path abuse', () => {
  const auth = () => ({ authorization: `Bearer ${tokens.tenant}`, 'content-type': 'application/json' });

  it('oversize bodies get 413 before parsing', async () => {
    const big = JSON.stringify({ model: CHEAP_MODEL, input: { prompt: 'x'.repeat(200_000) } });
    const a = await expectNoWriteOnRefusal('oversize submit', () =>
      send('/trpc/jobs.submit', { method: 'POST', headers: auth(), body: big }),
    );
    expect(a.status).toBe(413);
    const w = await expectNoWriteOnRefusal('oversize webhook', () =>
      send(`/webhooks/pixelbyte/${jobId}?token=x`, { method: 'POST', body: 'x'.repeat(200_000) }),
    );
    expect(w.status === 413 || w.status === 401).toBe(true);
  });

  it('deeply nested JSON (arrays and objects) is refused cleanly', async () => {
    for (const depth of [1_000, 20_000]) {
      const arr = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const obj = `${'{"input":'.repeat(depth)}1${'}'.repeat(depth)}`;
      for (const inner of [arr, obj]) {
        await expectNoWriteOnRefusal(`nested ${depth}`, () =>
          send('/trpc/jobs.submit', {
            method: 'POST',
            headers: auth(),
            body: `{"model":"${CHEAP_MODEL}","input":{"prompt":${inner}}}`,
          }),
        );
        await expectNoWriteOnRefusal(`nested ${depth} as query`, () =>
          send(
            `/trpc/pricing.quote?input=${encodeURIComponent(`{"model":"${CHEAP_MODEL}","input":${inner}}`)}`,
            {
              headers: auth(),
            },
          ),
        );
      }
    }
  });

  it('malformed JSON, wrong content types, huge batches', async () => {
    const bodies = ['{', '{"model":', 'null', '[]', '"str"', '\u0000\u0001', '{"a":1}{"b":2}', 'NaN'];
    for (const body of bodies) {
      for (const ct of ['application/json', 'text/plain', 'application/x-www-form-urlencoded', '']) {
        await expectNoWriteOnRefusal(`body ${JSON.stringify(body)} as ${ct}`, () =>
          send('/trpc/jobs.submit', {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens.tenant}`, ...(ct ? { 'content-type': ct } : {}) },
            body,
          }),
        );
      }
    }
    const calls = Array.from({ length: 500 }, () => 'jobs.submit').join(',');
    const batch = Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [i, { model: CHEAP_MODEL, input: { prompt: 1 } }]),
    );
    await expectNoWriteOnRefusal('500-call batch', () =>
      send(`/trpc/${calls}?batch=1`, { method: 'POST', headers: auth(), body: JSON.stringify(batch) }),
    );
  });

  it('header abuse: odd Authorization values, huge and odd request ids', async () => {
    const authValues = [
      '',
      'Bearer',
      'Bearer ',
      'bearer x',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${'a'.repeat(7_000)}`,
      `Bearer ${tokens.tenant} ${tokens.admin}`,
      `Bearer ${tokens.tenant?.split('.').reverse().join('.')}`,
      `Bearer ${tokens.garbage}`,
      `Bearer ${tokens.admin?.slice(0, -3)}abc`,
    ];
    for (const value of authValues) {
      const a = await expectNoWriteOnRefusal(`authorization ${value.slice(0, 40)}`, () =>
        send('/trpc/jobs.submit', {
          method: 'POST',
          headers: { authorization: value, 'content-type': 'application/json' },
          body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
        }),
      );
      expect(a.status, `authorization ${value.slice(0, 40)}`).toBe(401);
    }
    for (const rid of ['x'.repeat(4_000), '../../', '<script>', '%00', '{"a":1}']) {
      const res = await fetch(`${h.url}/trpc/account.get`, {
        headers: { authorization: `Bearer ${tokens.tenant}`, 'x-request-id': rid },
      });
      tried++;
      expect(res.status).toBe(200);
      const echoed = res.headers.get('x-request-id') ?? '';
      expect(echoed.length, 'request id is bounded').toBeLessThanOrEqual(200);
      expect(echoed).not.toMatch(/[<>{}"]/);
    }
  });

  it('query and path abuse', async () => {
    const paths = [
      '/trpc/',
      '/trpc/jobs',
      '/trpc/jobs.submit.x',
      '/trpc/__proto__',
      '/trpc/constructor',
      '/trpc/jobs.get?input=%7B',
      `/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id: jobId }))}&input=2`,
      `/trpc/jobs.get?batch=1&input=${encodeURIComponent('{"0":{"id":1},"1":{"id":"job_x"}}')}`,
      '/trpc/jobs.get?batch=abc&input=null',
      `/trpc/${'a.'.repeat(2_000)}b`,
      `/trpc/jobs.list?input=${encodeURIComponent(JSON.stringify({ limit: 1e9, cursor: '%%%' }))}`,
      `/trpc/account.ledger?input=${encodeURIComponent(JSON.stringify({ from: 'yesterday', to: -1 }))}`,
      '/reports/usage.csv?from=0&to=9999999999999&groupBy=__proto__',
      '/reports/ledger.csv?from=abc&to=&tenantId=%00',
      '/webhooks/pixelbyte/%2e%2e%2f%2e%2e',
      '/healthz/../readyz',
      '/%ff%fe',
    ];
    for (const p of paths) {
      for (const method of ['GET', 'POST']) {
        await expectNoWriteOnRefusal(`${method} ${p.slice(0, 80)}`, () =>
          send(p, {
            method,
            headers: { authorization: `Bearer ${tokens.admin}` },
            ...(method === 'POST' ? { body: '{}' } : {}),
          }),
        );
      }
    }
  });
});
