// Each typed error class, produced by the real gateway (real Postgres, real simulator, real HTTP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';
import {
  AuthError,
  ConflictError,
  createTollgateClient,
  InsufficientCreditsError,
  LimitExceededError,
  NetworkError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  type TollgateClient,
  TollgateError,
  ValidationError,
} from '../src/index.ts';

let h: Harness;
beforeAll(async () => {
  // Jobs stay `pending` upstream until a test advances them: a limit test must not race the
  // simulator finishing a job (which frees its concurrency slot) on a slow machine.
  h = await startHarness({ sim: { autoAdvance: false } });
});
afterAll(async () => {
  await h?.close();
});

async function tenant(
  opts: Parameters<Harness['createTenant']>[0] = {},
): Promise<{ tenantId: string; client: TollgateClient }> {
  const t = await h.createTenant(opts);
  return { tenantId: t.tenantId, client: createTollgateClient({ url: h.url, token: t.token, retry: false }) };
}

async function failure(call: Promise<unknown>): Promise<TollgateError> {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TollgateError);
  const e = err as TollgateError;
  expect(e.requestId, 'every gateway error carries its request id').toMatch(/\S/);
  return e;
}

describe('typed errors from the real gateway', () => {
  it('InsufficientCreditsError with the required and available amounts; nothing charged', async () => {
    const { client } = await tenant({ balanceMicroCents: 10_000 });
    const e = await failure(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toBeInstanceOf(InsufficientCreditsError);
    const ice = e as InsufficientCreditsError;
    expect([ice.code, ice.reason, ice.requiredMicroCents, ice.availableMicroCents]).toEqual([
      'PAYMENT_REQUIRED',
      'INSUFFICIENT_BALANCE',
      BigInt(CHEAP_PRICE),
      10_000n,
    ]);
    expect((await client.account.get.query()).availableMicroCents).toBe(10_000);
  });

  it('ValidationError for an unknown model and for bad input, with issues', async () => {
    const { client } = await tenant({ balanceMicroCents: 1_000_000 });
    const unknown = await failure(client.jobs.submit.mutate({ model: 'nope/nothing', input: {} }));
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.reason).toBe('UNKNOWN_MODEL');
    const bad = await failure(
      client.pricing.quote.query({ model: CHEAP_MODEL, input: { prompt: 'x', resolution: 'potato' } }),
    );
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.code).toBe('BAD_REQUEST');
    const wrongType = await failure(
      // @ts-expect-error deliberately wrong input type, as an untyped caller could send
      client.jobs.get.query({ id: 42 }),
    );
    expect(wrongType).toBeInstanceOf(ValidationError);
    expect((wrongType as ValidationError).issues.map((i) => i.path)).toContain('id');
  });

  it('AuthError for a bad token (UNAUTHORIZED) and for the wrong role (FORBIDDEN)', async () => {
    const anon = createTollgateClient({ url: h.url, token: 'not-a-jwt', retry: false });
    const e401 = await failure(anon.account.get.query());
    expect(e401).toBeInstanceOf(AuthError);
    expect([e401.code, e401.httpStatus]).toEqual(['UNAUTHORIZED', 401]);
    const { client } = await tenant();
    const e403 = await failure(client.admin.tenants.create.mutate({ name: 'sneaky' }));
    expect(e403).toBeInstanceOf(AuthError);
    expect([e403.code, e403.reason]).toEqual(['FORBIDDEN', 'WRONG_ROLE']);
  });

  it('NotFoundError for an unknown job and for another tenant’s job', async () => {
    const a = await tenant({ balanceMicroCents: 1_000_000 });
    const b = await tenant();
    expect(await failure(a.client.jobs.get.query({ id: 'job_doesnotexist' }))).toBeInstanceOf(NotFoundError);
    const job = await a.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    expect(await failure(b.client.jobs.get.query({ id: job.id }))).toBeInstanceOf(NotFoundError);
  });

  it('ConflictError when an idempotency key is reused with a different request', async () => {
    const { client } = await tenant({ balanceMicroCents: 1_000_000 });
    const idempotencyKey = `conflict-${Date.now()}`;
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT, idempotencyKey });
    const e = await failure(
      client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: 'something else' }, idempotencyKey }),
    );
    expect(e).toBeInstanceOf(ConflictError);
    expect([e.reason, e.retryable]).toEqual(['IDEMPOTENCY_CONFLICT', false]);
  });

  it('RateLimitedError with retryAfterSeconds when requests per minute are exceeded', async () => {
    const { client } = await tenant({ balanceMicroCents: 1_000_000, limits: { requestsPerMinute: 1 } });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    // The window is the DB clock's minute: if the first two submits straddle a minute boundary the
    // second is allowed, but then the third is in the same minute as the second and must be refused.
    let refusal: unknown;
    for (let attempt = 0; attempt < 2 && refusal === undefined; attempt++) {
      refusal = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }).then(
        () => undefined,
        (err: unknown) => err,
      );
    }
    expect(refusal, 'a second submit in the same minute is refused').toBeDefined();
    const e = await failure(Promise.reject(refusal));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect(e.reason).toBe('RATE_LIMIT');
    expect((e as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
  });

  it('LimitExceededError for the concurrent-jobs limit and for maxCostMicroCents', async () => {
    const { client } = await tenant({ balanceMicroCents: 1_000_000, limits: { maxConcurrentJobs: 1 } });
    const first = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: 'one' } });
    expect(first.status).toBe('pending');
    const e = await failure(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: 'two' } }));
    expect(e).toBeInstanceOf(LimitExceededError);
    expect([e.reason, (e as LimitExceededError).limit]).toEqual(['CONCURRENT_JOBS_LIMIT', 1]);
    expect(await client.account.get.query(), 'the refused submit held nothing').toMatchObject({
      availableMicroCents: 1_000_000 - CHEAP_PRICE,
      heldMicroCents: 0,
    });
    // The limit is on jobs in progress: once the first one ends (its webhook is handled before
    // advance() resolves), the slot is free again.
    expect(first.upstreamJobId).toMatch(/\S/);
    await h.sim.control.advance(String(first.upstreamJobId), 'completed');
    expect((await client.jobs.get.query({ id: first.id })).status).toBe('completed');
    const second = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: { prompt: 'two' } });
    expect(second.status).toBe('pending');

    const other = await tenant({ balanceMicroCents: 1_000_000 });
    const cap = await failure(
      other.client.jobs.submit.mutate({
        model: CHEAP_MODEL,
        input: CHEAP_INPUT,
        maxCostMicroCents: CHEAP_PRICE - 1,
      }),
    );
    expect(cap).toBeInstanceOf(LimitExceededError);
    expect(cap.reason).toBe('MAX_COST_EXCEEDED');
    expect((await other.client.account.get.query()).availableMicroCents).toBe(1_000_000);
  });

  it('ServiceUnavailableError when the operator’s Pixelbyte account is empty; the hold is released', async () => {
    const { client } = await tenant({ balanceMicroCents: 1_000_000 });
    h.sim.control.failNextSubmits({ code: 'INSUFFICIENT_BALANCE' });
    const e = await failure(client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
    expect(e).toBeInstanceOf(ServiceUnavailableError);
    expect([e.code, e.httpStatus]).toEqual(['SERVICE_UNAVAILABLE', 503]);
    expect(await client.account.get.query()).toMatchObject({
      availableMicroCents: 1_000_000,
      heldMicroCents: 0,
    });
    await h.expectReconciled();
  });

  it('NetworkError when nothing listens', async () => {
    const dead = createTollgateClient({ url: 'http://127.0.0.1:9', token: 't', retry: false });
    const e = await dead.models.list.query().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).retryable).toBe(true);
  });
});
