import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  type Client,
  expectTRPCError,
  type Harness,
  makeClient,
  rowCounts,
  startHarness,
} from './harness.ts';

describe('bad input: precise 4xx, nothing written', () => {
  let h: Harness;
  let client: Client;
  let token: string;
  let before: Record<string, number>;
  let submitsBefore: number;

  beforeAll(async () => {
    h = await startHarness({ bodyLimitBytes: 16 * 1024 });
    ({ client, token } = await h.createTenant({ balanceMicroCents: 1_000_000 }));
    before = await rowCounts(h.db);
    submitsBefore = h.sim.control.counts().submitsReceived;
  });
  afterAll(async () => {
    expect(await rowCounts(h.db), 'no row written by any bad request').toEqual(before);
    expect(h.sim.control.counts().submitsReceived, 'nothing forwarded upstream').toBe(submitsBefore);
    await h.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body,
    });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const res = await post('/trpc/jobs.submit', '{"model": "x", ');
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { data: { code: string; reason: string; requestId: string } };
    };
    expect(body.error.data).toMatchObject({ code: 'BAD_REQUEST', reason: 'MALFORMED_JSON' });
    expect(body.error.data.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('errors tRPC raises before the context exists still carry the request id (batch too large, content type)', async () => {
    const batch = Array.from({ length: 51 }, () => 'account.get').join(',');
    const tooMany = await fetch(`${h.url}/trpc/${batch}?batch=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const noJson = await post('/trpc/jobs.submit', 'x', { 'content-type': 'text/plain' });
    for (const res of [tooMany, noJson]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const body = (await res.json()) as
        | { error: { data: { requestId: string } } }
        | { error: { data: { requestId: string } } }[];
      const first = Array.isArray(body) ? body[0] : body;
      expect(first?.error.data.requestId).toBe(res.headers.get('x-request-id'));
    }
  });

  it('oversize body → 413 before parsing', async () => {
    const res = await post(
      '/trpc/jobs.submit',
      JSON.stringify({ model: CHEAP_MODEL, input: { prompt: 'x'.repeat(20_000) } }),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      reason: 'BODY_TOO_LARGE',
      requestId: expect.stringMatching(/^req_/),
    });
  });

  // A streamed body declares no length: the limit counts its bytes as they arrive.
  const postChunked = (path: string, chunks: string[]) =>
    fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);

  it('oversize chunked body (no Content-Length) → 413', async () => {
    const input = { prompt: 'x'.repeat(20_000) };
    const body = JSON.stringify({ model: CHEAP_MODEL, input });
    const res = await postChunked('/trpc/jobs.submit', [body.slice(0, 8_000), body.slice(8_000)]);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', reason: 'BODY_TOO_LARGE' });
  });

  it('chunked body within the limit is read whole (malformed JSON → 400 MALFORMED_JSON)', async () => {
    const res = await postChunked('/trpc/jobs.submit', ['{"model": ', '"x", ']);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { data: { code: string; reason: string } } };
    expect(body.error.data).toMatchObject({ code: 'BAD_REQUEST', reason: 'MALFORMED_JSON' });
  });

  it('unknown model → BAD_REQUEST UNKNOWN_MODEL', async () => {
    const e = await expectTRPCError(
      client.jobs.submit.mutate({ model: 'acme/free-video', input: CHEAP_INPUT }),
    );
    expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNKNOWN_MODEL', httpStatus: 400 });
  });

  it('wrong types → BAD_REQUEST INVALID_INPUT naming the field', async () => {
    const e = await expectTRPCError(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, maxCostMicroCents: 'lots' }),
    );
    expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    expect(JSON.stringify(e.details)).toContain('maxCostMicroCents');
    const e2 = await expectTRPCError(
      client.jobs.submit.mutate({
        model: 'google/veo-3.1-fast/text-to-video',
        input: { prompt: 'x', duration: 'forever' },
      }),
    );
    expect(e2).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    const e3 = await expectTRPCError(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, maxCostMicroCents: 2 ** 53 }),
    );
    expect(e3).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    const e4 = await expectTRPCError(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, webhookUrl: 'notaurl' }),
    );
    expect(e4).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    expect((e4.details?.issues as { path: string }[] | undefined)?.map((i) => i.path)).toEqual([
      'webhookUrl',
    ]);
  });

  it('unknown keys (top level and inside input) → BAD_REQUEST', async () => {
    const e = await expectTRPCError(
      // @ts-expect-error deliberately unknown key
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, priority: 'high' }),
    );
    expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    const e2 = await expectTRPCError(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { ...CHEAP_INPUT, free: true } }),
    );
    expect(e2).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
  });

  it('a NUL character anywhere in the input (Postgres cannot store it) → BAD_REQUEST naming where, not a 500', async () => {
    const nul = 'a\u0000b';
    const refusals = await Promise.all([
      expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: nul } })),
      expectTRPCError(
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, tags: ['ok', nul] }),
      ),
      expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { ...CHEAP_INPUT, [nul]: 1 } })),
      expectTRPCError(client.jobs.list.query({ model: nul })),
      expectTRPCError(h.admin.admin.tenants.create.mutate({ name: nul })),
      expectTRPCError(
        h.admin.admin.credits.topUp.mutate({ tenantId: 'ten_x', amountMicroCents: 1, reference: nul }),
      ),
    ]);
    expect(
      refusals.map((e) => [e.code, e.reason, ((e.details?.issues ?? []) as { path: string }[])[0]?.path]),
    ).toEqual([
      ['BAD_REQUEST', 'INVALID_INPUT', 'input.prompt'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'tags.1'],
      ['BAD_REQUEST', 'INVALID_INPUT', `input.${nul}`],
      ['BAD_REQUEST', 'INVALID_INPUT', 'model'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'name'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'reference'],
    ]);
    // Who may call comes first: no token is still a 401, a wrong role a 403.
    expect(await expectTRPCError(makeClient(h.url, null).jobs.list.query({ model: nul }))).toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(await expectTRPCError(client.admin.tenants.create.mutate({ name: nul }))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'WRONG_ROLE',
    });
    // A signed token whose sub (the audited actor) holds one: refused as invalid claims.
    const e = await expectTRPCError(
      makeClient(h.url, await h.token({ role: 'admin', sub: nul })).admin.tenants.list.query({}),
    );
    expect(e).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_CLAIMS' });
  });

  it('a lone UTF-16 surrogate in any text field (Postgres cannot store it) → BAD_REQUEST naming the field, nothing written, not a 500', async () => {
    const { tenantId } = await h.createTenant();
    before = await rowCounts(h.db); // the tenant above is a deliberate write
    const lone = 'a\ud800b';
    const refusals = await Promise.all([
      expectTRPCError(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: lone } })),
      expectTRPCError(
        client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, tags: ['ok', 'x\udfff'] }),
      ),
      expectTRPCError(h.admin.admin.tenants.create.mutate({ name: lone })),
      expectTRPCError(h.admin.admin.credits.topUp.mutate({ tenantId, amountMicroCents: 1, reference: lone })),
      expectTRPCError(
        h.admin.admin.credits.adjust.mutate({ tenantId, amountMicroCents: 1, reason: `\ud83d${lone}` }),
      ),
    ]);
    expect(
      refusals.map((e) => [e.code, e.reason, ((e.details?.issues ?? []) as { path: string }[])[0]?.path]),
    ).toEqual([
      ['BAD_REQUEST', 'INVALID_INPUT', 'input.prompt'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'tags.1'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'name'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'reference'],
      ['BAD_REQUEST', 'INVALID_INPUT', 'reason'],
    ]);
    expect(refusals[0]?.message).toContain('lone UTF-16 surrogate');
    expect(await rowCounts(h.db)).toEqual(before);
    // A well-formed pair is one character (an emoji), and is stored as it is.
    const ok = await h.admin.admin.tenants.create.mutate({ name: 'Acme 🦊' });
    expect(ok.name).toBe('Acme 🦊');
    before = await rowCounts(h.db); // a deliberate write too
    // A signed token whose sub (the audited actor) holds one: refused as invalid claims.
    const e = await expectTRPCError(
      makeClient(h.url, await h.token({ role: 'admin', sub: lone })).admin.tenants.list.query({}),
    );
    expect(e).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_CLAIMS' });
  });

  it('dates a Postgres timestamp cannot hold (year 0000, pushed past 0001 or 9999 by an offset) → 400, not a 500', async () => {
    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'bad-dates' }));
    const refusals = await Promise.all([
      expectTRPCError(client.account.ledger.query({ from: '0000-01-01T00:00:00Z' })),
      expectTRPCError(
        finance.finance.usage.query({ from: '0001-01-01T00:00:00+14:00', to: '0001-06-01T00:00:00Z' }),
      ),
      expectTRPCError(
        finance.finance.usage.query({ from: '9999-06-01T00:00:00Z', to: '9999-12-31T23:00:00-14:00' }),
      ),
      expectTRPCError(
        finance.finance.ledger.query({ from: '0000-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }),
      ),
      expectTRPCError(h.admin.admin.audit.list.query({ to: '0000-06-01T00:00:00Z' })),
    ]);
    for (const e of refusals) expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    expect(JSON.stringify(refusals[0]?.details)).toContain('0001-01-01 and 9999-12-31');
    // A reversed period is reported, as finance.ledger does, not answered with an empty page.
    const reversed = await expectTRPCError(
      client.account.ledger.query({ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }),
    );
    expect(reversed).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PERIOD' });
    expect(
      await expectTRPCError(
        h.admin.admin.audit.list.query({ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }),
      ),
    ).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PERIOD' });
    const financeToken = await h.token({ role: 'finance', sub: 'bad-dates' });
    for (const query of [
      'usage.csv?from=0000-01-01&to=0000-06-01',
      'ledger.csv?from=0000-01-01&to=2025-06-01',
    ]) {
      const res = await fetch(`${h.url}/reports/${query}`, {
        headers: { authorization: `Bearer ${financeToken}` },
      });
      expect(res.status, query).toBe(400);
      expect(await res.json(), query).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_INPUT' });
    }
  });

  it('crafted page cursors (Date.parse accepts them, Postgres does not; ids past bigint) → 400 INVALID_CURSOR', async () => {
    const cursor = (ts: string, id: string) => Buffer.from(JSON.stringify([ts, id])).toString('base64url');
    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'bad-cursors' }));
    const from = '2025-01-01T00:00:00Z';
    const to = '2030-01-01T00:00:00Z';
    const refusals = await Promise.all([
      expectTRPCError(client.jobs.list.query({ cursor: cursor('1', 'job_x') })),
      expectTRPCError(client.jobs.list.query({ cursor: cursor('0000-01-01T00:00:00Z', 'job_x') })),
      expectTRPCError(client.jobs.list.query({ cursor: cursor('2020-02-30T00:00:00.000000Z', 'job_x') })),
      expectTRPCError(client.account.ledger.query({ cursor: cursor('1', '1') })),
      expectTRPCError(client.account.ledger.query({ cursor: cursor('2020-01-01', '1') })),
      expectTRPCError(
        finance.finance.ledger.query({ from, to, cursor: cursor('2020-01-01T00:00:00Z', "1' OR 1=1") }),
      ),
      expectTRPCError(h.admin.admin.tenants.list.query({ cursor: cursor('1', 'ten_x') })),
      expectTRPCError(h.admin.admin.jobs.list.query({ cursor: 'not-a-cursor' })),
      expectTRPCError(h.admin.admin.audit.list.query({ cursor: '9999999999999999999' })),
    ]);
    for (const e of refusals) expect(e).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_CURSOR' });
    // A well-formed cursor whose ledger line id is past Postgres' bigint: an empty page, not a 500.
    const page = await client.account.ledger.query({
      cursor: cursor('2020-01-01T00:00:00.000000Z', '99999999999999999999'),
    });
    expect(page).toEqual({ items: [], nextCursor: null });
  });

  it('admin top-up with a non-safe or negative amount → BAD_REQUEST', async () => {
    const { tenantId } = await h.createTenant();
    before = await rowCounts(h.db); // the tenant above is a deliberate write
    for (const amountMicroCents of [-5, 1.5, 2 ** 60, 0]) {
      const e = await expectTRPCError(
        h.admin.admin.credits.topUp.mutate({
          tenantId,
          amountMicroCents,
          idempotencyKey: `k${amountMicroCents}`,
          reference: 'r',
        }),
      );
      expect(e, String(amountMicroCents)).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('forged webhook token → 401, nothing read or written', async () => {
    const job = 'job_doesnotmatter';
    const res = await post(
      `/webhooks/pixelbyte/${job}?token=forged`,
      JSON.stringify({ jobId: 'job_x', status: 'completed' }),
    );
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_WEBHOOK_TOKEN' });
    const none = await post(`/webhooks/pixelbyte/${job}`, '{}');
    expect(none.status).toBe(401);
  });

  it('what the HTTP parser refuses (headers over 16 KB, not HTTP/1.1) → a JSON error, not a bare status line', async () => {
    // Raw TCP: fetch would not send either request.
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(h.url);
        const socket = net.connect(Number(port), hostname, () => socket.write(request));
        const chunks: Buffer[] = [];
        socket.on('data', (c) => chunks.push(c));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
    const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;

    const big = await raw(
      `POST /trpc/jobs.submit HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\nx-pad: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(big.startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(bodyOf(big)).toEqual({
      code: 'BAD_REQUEST',
      reason: 'HEADERS_TOO_LARGE',
      message: expect.stringContaining('16 KB'),
      requestId: expect.stringMatching(/^req_/),
    });

    const garbage = await raw('HELLO /trpc/jobs.submit\r\n\r\n');
    expect(garbage.startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(bodyOf(garbage)).toMatchObject({ code: 'BAD_REQUEST', reason: 'MALFORMED_HTTP' });
  });

  it('unknown routes → 404 JSON with a request id', async () => {
    const res = await fetch(`${h.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', requestId: expect.any(String) });
  });
});
