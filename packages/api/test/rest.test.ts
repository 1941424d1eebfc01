// The REST API (`/v1`) against a real gateway, simulator and Postgres: the same flows, money and
// error reasons as tRPC, in HTTP terms (statuses, problem+json, Idempotency-Key, Retry-After, RateLimit-*).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  expectTRPCError,
  type Harness,
  makeClient,
  rowCounts,
  startHarness,
} from './harness.ts';

type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  reason: string;
  requestId: string;
  details?: Record<string, unknown>;
};
type JobBody = { id: string; status: string; costMicroCents: number; refundedMicroCents: number };

describe('REST /v1', () => {
  let h: Harness;
  let token: string;
  let tenantId: string;

  const call = (
    method: string,
    path: string,
    opts: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null } = {},
  ) => {
    const bearer = opts.token === undefined ? token : opts.token;
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    return fetch(`${h.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...opts.headers,
      },
      ...(body === undefined ? {} : { body }),
    });
  };

  /** A problem+json answer: its status, media type and body. */
  async function problemOf(res: Response): Promise<Problem> {
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const p = (await res.json()) as Problem;
    expect(p.status, 'status member = HTTP status').toBe(res.status);
    expect(p.type).toBe(`urn:tollgate:problem:${p.reason}`);
    expect(p.requestId).toBe(res.headers.get('x-request-id'));
    return p;
  }

  async function available(): Promise<number> {
    const res = await call('GET', '/v1/account');
    expect(res.status).toBe(200);
    return ((await res.json()) as { availableMicroCents: number }).availableMicroCents;
  }

  beforeAll(async () => {
    h = await startHarness();
    ({ token, tenantId } = await h.createTenant({ balanceMicroCents: 10_000_000 }));
  });
  afterAll(async () => {
    await h.expectReconciled();
    await h.close();
  });

  it('quote, submit (201 + Location), replay with the same Idempotency-Key (200, same job, one charge), read, complete', async () => {
    const before = await available();
    const quote = await call('POST', '/v1/quote', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT } });
    expect(quote.status).toBe(200);
    expect(await quote.json()).toMatchObject({ model: CHEAP_MODEL, costMicroCents: CHEAP_PRICE });

    const submit = () =>
      call('POST', '/v1/jobs', {
        body: { model: CHEAP_MODEL, input: CHEAP_INPUT, tags: ['rest'] },
        headers: { 'idempotency-key': 'rest-flow-1' },
      });
    const created = await submit();
    expect(created.status).toBe(201);
    const job = (await created.json()) as JobBody;
    expect(job).toMatchObject({ status: 'pending', costMicroCents: CHEAP_PRICE });
    expect(created.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    expect(created.headers.get('ratelimit-limit'), 'no per-minute limit: no RateLimit headers').toBeNull();

    const replay = await submit();
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as JobBody).id).toBe(job.id);
    expect(await available(), 'charged once for two submits with one key').toBe(before - CHEAP_PRICE);

    // The key means the same as tRPC's idempotencyKey: tRPC with the same key replays this job too.
    const client = makeClient(h.url, token);
    const viaTrpc = await client.jobs.submit.mutate({
      model: CHEAP_MODEL,
      input: CHEAP_INPUT,
      tags: ['rest'],
      idempotencyKey: 'rest-flow-1',
    });
    expect(viaTrpc.id).toBe(job.id);

    const upstreamJobId = (
      (await (await call('GET', `/v1/jobs/${job.id}`)).json()) as { upstreamJobId: string }
    ).upstreamJobId;
    await h.sim.control.advance(upstreamJobId, 'completed');
    const done = await waitForStatus(job.id, 'completed');
    expect(done).toMatchObject({ id: job.id, status: 'completed', costMicroCents: CHEAP_PRICE });
  });

  async function waitForStatus(id: string, status: string): Promise<JobBody> {
    for (let i = 0; i < 400; i++) {
      const res = await call('GET', `/v1/jobs/${id}`);
      const body = (await res.json()) as JobBody;
      if (body.status === status) return body;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`job ${id} never reached ${status}`);
  }

  it('concurrent submits with one Idempotency-Key: one 201, the rest 200 with the same job or 409 in flight; charged once', async () => {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        call('POST', '/v1/jobs', {
          body: { model: CHEAP_MODEL, input: CHEAP_INPUT },
          headers: { 'idempotency-key': 'race-1' },
          token: t.token,
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as JobBody & Problem })),
      ),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(created, JSON.stringify(answers.map((a) => a.status))).toHaveLength(1);
    const id = created[0]?.body.id;
    for (const a of answers) {
      if (a.status === 200) expect(a.body.id).toBe(id);
      else if (a.status === 409) expect(a.body.reason).toBe('IDEMPOTENCY_IN_FLIGHT');
      else expect(a.status).toBe(201);
    }
    const account = (await (await call('GET', '/v1/account', { token: t.token })).json()) as {
      tenantId: string;
      availableMicroCents: number;
    };
    expect(account.tenantId).toBe(t.tenantId);
    expect(account.availableMicroCents, 'one charge for twelve submits').toBe(1_000_000 - CHEAP_PRICE);
    const jobs = (await (await call('GET', '/v1/jobs', { token: t.token })).json()) as { items: JobBody[] };
    expect(jobs.items.map((j) => j.id)).toEqual([id]);
  });

  it('lists jobs with the same filters and cursor as jobs.list; the ledger with from/to/limit', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT } });
      expect(res.status).toBe(201);
    }
    const first = await call('GET', '/v1/jobs?status=pending&limit=2');
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { items: JobBody[]; nextCursor: string | null };
    expect(page1.items).toHaveLength(2);
    expect(page1.items.every((j) => j.status === 'pending')).toBe(true);
    expect(page1.nextCursor).not.toBeNull();
    const second = await call(
      'GET',
      `/v1/jobs?status=pending&limit=2&cursor=${encodeURIComponent(page1.nextCursor ?? '')}`,
    );
    const page2 = (await second.json()) as { items: JobBody[] };
    expect(page2.items.length).toBeGreaterThan(0);
    expect(page2.items.map((j) => j.id)).not.toContain(page1.items[0]?.id);

    const ledger = await call(
      'GET',
      `/v1/account/ledger?limit=3&from=${encodeURIComponent('2000-01-01T00:00:00Z')}`,
    );
    expect(ledger.status).toBe(200);
    const lines = (await ledger.json()) as { items: { kind: string; amountMicroCents: number }[] };
    expect(lines.items).toHaveLength(3);

    const models = await call('GET', '/v1/models');
    expect(((await models.json()) as { items: { model: string }[] }).items.map((m) => m.model)).toContain(
      CHEAP_MODEL,
    );
  });

  it('cancel: a pending job is cancelled and refunded; again is the same job', async () => {
    const res = await call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT } });
    const job = (await res.json()) as JobBody;
    const cancelled = await call('POST', `/v1/jobs/${job.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({
      id: job.id,
      status: 'cancelled',
      refundedMicroCents: CHEAP_PRICE,
    });
  });

  it('errors are problem+json with the same code, reason, message and details as tRPC', async () => {
    const poor = await h.createTenant({ balanceMicroCents: 10_000 });
    const body = { model: CHEAP_MODEL, input: CHEAP_INPUT };
    const rest = await call('POST', '/v1/jobs', { body, token: poor.token });
    expect(rest.status).toBe(402);
    const p = await problemOf(rest);
    const trpc = await expectTRPCError(poor.client.jobs.submit.mutate(body));
    expect(p).toMatchObject({
      code: trpc.code,
      reason: 'INSUFFICIENT_BALANCE',
      detail: trpc.message,
      details: trpc.details,
      title: 'Insufficient balance',
    });
    expect(p.details).toEqual({ requiredMicroCents: CHEAP_PRICE, availableMicroCents: 10_000 });
  });

  it('404 for a missing job and for another tenant’s job (indistinguishable)', async () => {
    const other = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const theirs = (await (
      await call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT }, token: other.token })
    ).json()) as JobBody;
    const missing = await call('GET', '/v1/jobs/job_doesnotexist0000000');
    const foreign = await call('GET', `/v1/jobs/${theirs.id}`);
    const foreignCancel = await call('POST', `/v1/jobs/${theirs.id}/cancel`);
    for (const res of [missing, foreign, foreignCancel]) {
      expect(res.status).toBe(404);
      expect(await problemOf(res)).toMatchObject({ code: 'NOT_FOUND', reason: 'JOB_NOT_FOUND' });
    }
  });

  it('409 when an Idempotency-Key is reused with another request', async () => {
    const key = { 'idempotency-key': 'rest-conflict' };
    expect(
      (await call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT }, headers: key }))
        .status,
    ).toBe(201);
    const res = await call('POST', '/v1/jobs', {
      body: { model: CHEAP_MODEL, input: { prompt: 'something else' } },
      headers: key,
    });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT' });
  });

  it('401 without or with a bad token, and 404 problem for an unknown /v1 route', async () => {
    const none = await call('GET', '/v1/account', { token: null });
    expect(none.status).toBe(401);
    expect(await problemOf(none)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'MISSING_TOKEN' });
    const bad = await call('GET', '/v1/account', { token: 'not-a-jwt' });
    expect(bad.status).toBe(401);
    expect(await problemOf(bad)).toMatchObject({ reason: 'INVALID_TOKEN' });
    const admin = await call('GET', '/v1/account', { token: await h.token({ role: 'admin', sub: 'a' }) });
    expect(admin.status).toBe(403);
    expect(await problemOf(admin)).toMatchObject({ reason: 'WRONG_ROLE' });
    const route = await call('GET', '/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(await problemOf(route)).toMatchObject({ reason: 'ROUTE_NOT_FOUND' });
  });

  it('429 RATE_LIMIT with Retry-After; RateLimit-* headers count down for a tenant with a per-minute limit', async () => {
    const limited = await h.createTenant({ balanceMicroCents: 1_000_000, limits: { requestsPerMinute: 2 } });
    const submit = () =>
      call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT }, token: limited.token });
    const seen: { status: number; limit: string | null; remaining: string | null; reset: string | null }[] =
      [];
    let refused: Response | undefined;
    // A minute boundary may pass between submits (the window restarts): at most a few extra rounds.
    for (let i = 0; i < 6 && refused === undefined; i++) {
      const res = await submit();
      seen.push({
        status: res.status,
        limit: res.headers.get('ratelimit-limit'),
        remaining: res.headers.get('ratelimit-remaining'),
        reset: res.headers.get('ratelimit-reset'),
      });
      if (res.status === 429) refused = res;
    }
    expect(refused, `a third submit within a minute is refused: ${JSON.stringify(seen)}`).toBeDefined();
    const ok = seen.filter((s) => s.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(2);
    for (const s of ok) {
      expect(s.limit).toBe('2');
      expect(Number(s.reset)).toBeGreaterThanOrEqual(1);
      expect(Number(s.reset)).toBeLessThanOrEqual(60);
    }
    expect(ok.at(-1)?.remaining, 'the submit that used the last slot says 0 left').toBe('0');
    const res = refused as Response;
    const p = await problemOf(res);
    expect(p).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMIT', details: { limit: 2 } });
    expect(res.headers.get('retry-after')).toBe(String(p.details?.retryAfterSeconds));
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
    expect(res.headers.get('ratelimit-reset')).toBe(res.headers.get('retry-after'));
  });

  it('503 with Retry-After when Pixelbyte is unavailable (not charged)', async () => {
    const before = await available();
    h.sim.control.failNextSubmits({ code: 'PUBSUB_PUBLISH_FAILED', status: 503, count: 1 });
    const res = await call('POST', '/v1/jobs', { body: { model: CHEAP_MODEL, input: CHEAP_INPUT } });
    expect(res.status).toBe(503);
    expect(await problemOf(res)).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'UPSTREAM_UNAVAILABLE',
    });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await available()).toBe(before);
  });

  it('a tenant API key (tg_live_…) works on REST as on tRPC; an unknown key is a 401 problem', async () => {
    const t = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const { key } = await h.admin.admin.keys.create.mutate({
      tenantId: t.tenantId,
      name: 'rest backend',
      mode: 'live',
    });
    expect(key).toMatch(/^tg_live_/);
    const account = await call('GET', '/v1/account', { token: key });
    expect(account.status).toBe(200);
    expect(await account.json()).toMatchObject({ tenantId: t.tenantId });
    const submitted = await call('POST', '/v1/jobs', {
      body: { model: CHEAP_MODEL, input: CHEAP_INPUT },
      headers: { 'idempotency-key': 'with-a-key' },
      token: key,
    });
    expect(submitted.status).toBe(201);
    const job = (await submitted.json()) as JobBody;
    // The same key space whatever the credential: the tenant's JWT replays the job the key made.
    const replay = await call('POST', '/v1/jobs', {
      body: { model: CHEAP_MODEL, input: CHEAP_INPUT },
      headers: { 'idempotency-key': 'with-a-key' },
      token: t.token,
    });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as JobBody).id).toBe(job.id);
    const unknown = await call('GET', '/v1/account', { token: `tg_live_${'Z'.repeat(40)}` });
    expect(unknown.status).toBe(401);
    const trpc = await expectTRPCError(makeClient(h.url, `tg_live_${'Z'.repeat(40)}`).account.get.query());
    expect(await problemOf(unknown)).toMatchObject({
      code: trpc.code,
      reason: trpc.reason,
      detail: trpc.message,
    });
  });

  it('the bearer token is checked by the same function as tRPC (an expired token is TOKEN_EXPIRED on both)', async () => {
    const expired = await h.token({ role: 'tenant', tenantId, sub: 'x' }, { expiresInSeconds: -60 });
    const rest = await call('GET', '/v1/account', { token: expired });
    const trpc = await expectTRPCError(makeClient(h.url, expired).account.get.query());
    expect(rest.status).toBe(trpc.httpStatus);
    expect(await problemOf(rest)).toMatchObject({
      code: trpc.code,
      reason: trpc.reason,
      detail: trpc.message,
    });
  });
});

describe('REST /v1 bad input: precise 4xx, nothing written', () => {
  let h: Harness;
  let token: string;
  let before: Record<string, number>;
  let submitsBefore: number;

  beforeAll(async () => {
    h = await startHarness({ bodyLimitBytes: 16 * 1024 });
    ({ token } = await h.createTenant({ balanceMicroCents: 1_000_000 }));
    before = await rowCounts(h.db);
    submitsBefore = h.sim.control.counts().submitsReceived;
  });
  afterAll(async () => {
    expect(await rowCounts(h.db), 'no row written by any bad request').toEqual(before);
    expect(h.sim.control.counts().submitsReceived, 'nothing forwarded upstream').toBe(submitsBefore);
    await h.close();
  });

  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      ...(body === undefined ? {} : { body }),
    });

  async function expectProblem(res: Response, status: number, reason: string): Promise<Problem> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const p = (await res.json()) as Problem;
    expect(p).toMatchObject({ status, reason });
    return p;
  }

  it('malformed JSON → 400 MALFORMED_JSON (as tRPC)', async () => {
    await expectProblem(await send('POST', '/v1/jobs', '{"model": "x", '), 400, 'MALFORMED_JSON');
    await expectProblem(await send('POST', '/v1/quote', '{'), 400, 'MALFORMED_JSON');
  });

  it('a body that is not JSON → 415', async () => {
    await expectProblem(
      await send('POST', '/v1/jobs', 'model=x', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('oversize body → 413 before parsing', async () => {
    const big = JSON.stringify({ model: CHEAP_MODEL, input: { prompt: 'x'.repeat(20_000) } });
    await expectProblem(await send('POST', '/v1/jobs', big), 413, 'BODY_TOO_LARGE');
  });

  it('schema violations → 400 INVALID_INPUT naming the field (same issues as tRPC)', async () => {
    const p = await expectProblem(
      await send('POST', '/v1/jobs', JSON.stringify({ model: '', input: {} })),
      400,
      'INVALID_INPUT',
    );
    expect(p.details?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'model' })]));
    await expectProblem(
      await send('POST', '/v1/jobs', JSON.stringify({ model: CHEAP_MODEL, input: {}, extra: 1 })),
      400,
      'INVALID_INPUT',
    );
    await expectProblem(await send('POST', '/v1/jobs', ''), 400, 'INVALID_INPUT');
    await expectProblem(await send('POST', '/v1/jobs', '[1,2]'), 400, 'INVALID_INPUT');
    await expectProblem(
      await send('POST', '/v1/jobs', JSON.stringify({ model: CHEAP_MODEL, input: { prompt: 'a\u0000b' } })),
      400,
      'INVALID_INPUT',
    );
    await expectProblem(
      await send('POST', '/v1/jobs', JSON.stringify({ model: 'no/such/model', input: {} })),
      400,
      'UNKNOWN_MODEL',
    );
  });

  it('an amount not written as an integer (40000.0, 4e4) → 400 INVALID_INPUT naming it, as on tRPC, never rounded', async () => {
    for (const literal of ['40000.0', '4e4', '39999.99999999999']) {
      const p = await expectProblem(
        await send(
          'POST',
          '/v1/jobs',
          `{"model":"${CHEAP_MODEL}","input":{"prompt":"a fox"},"maxCostMicroCents":${literal}}`,
        ),
        400,
        'INVALID_INPUT',
      );
      expect(p.details?.issues).toEqual([
        expect.objectContaining({ path: 'maxCostMicroCents', code: 'inexact_amount' }),
      ]);
    }
  });

  it('the idempotency key: in the header only, and checked by the same schema', async () => {
    const body = JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey: 'k' });
    const inBody = await expectProblem(await send('POST', '/v1/jobs', body), 400, 'INVALID_INPUT');
    expect(inBody.detail).toContain('Idempotency-Key');
    const ok = JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await expectProblem(
      await send('POST', '/v1/jobs', ok, { 'idempotency-key': 'x'.repeat(201) }),
      400,
      'INVALID_INPUT',
    );
  });

  it('query parameters: unknown, repeated, out of range or not a cursor → 400', async () => {
    await expectProblem(await send('GET', '/v1/jobs?colour=red'), 400, 'INVALID_INPUT');
    await expectProblem(await send('GET', '/v1/jobs?limit=0'), 400, 'INVALID_INPUT');
    await expectProblem(await send('GET', '/v1/jobs?limit=ten'), 400, 'INVALID_INPUT');
    await expectProblem(await send('GET', '/v1/jobs?status=pending&status=failed'), 400, 'INVALID_INPUT');
    await expectProblem(await send('GET', '/v1/jobs?status=lost'), 400, 'INVALID_INPUT');
    await expectProblem(await send('GET', '/v1/jobs?cursor=abc'), 400, 'INVALID_CURSOR');
    await expectProblem(await send('GET', '/v1/account/ledger?from=yesterday'), 400, 'INVALID_INPUT');
    await expectProblem(
      await send(
        'GET',
        `/v1/account/ledger?from=${encodeURIComponent('2026-02-01T00:00:00Z')}&to=${encodeURIComponent('2026-01-01T00:00:00Z')}`,
      ),
      400,
      'INVALID_PERIOD',
    );
    await expectProblem(await send('GET', '/v1/jobs/not-a-job-id'), 400, 'INVALID_INPUT');
  });
});
