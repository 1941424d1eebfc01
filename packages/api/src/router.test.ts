import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { createPixelbyteClient } from '@tollgate/pixelbyte';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from './auth/jwt.ts';
import { createInnerContext } from './context.ts';
import type { AppDeps } from './deps.ts';
import { buildDeps } from './gateway.ts';
import { createLogger } from './logger.ts';
import { appRouter } from './router.ts';
import { createCallerFactory } from './trpc.ts';

// Router-level tests through createCaller (no HTTP): the inner context takes an auth result directly.
describe('appRouter via createCaller', () => {
  let tdb: TestDatabase;
  let deps: AppDeps;
  const log = createLogger({ level: 'silent' });
  const createCaller = createCallerFactory(appRouter);
  const caller = (auth: Parameters<typeof createInnerContext>[0]['auth']) =>
    createCaller(createInnerContext({ deps, auth, requestId: 'req_test', log }));

  beforeAll(async () => {
    tdb = await createTestDatabase();
    deps = buildDeps({
      config: {
        publicBaseUrl: undefined,
        webhookTokenSecret: 'x'.repeat(32),
        pixelbyteWebhookSecret: undefined,
        jwt: { issuer: 'tollgate', audience: 'tollgate', signingSecret: 'y'.repeat(32) },
        unknownJobGraceMs: 60_000,
        bodyLimitBytes: 1024,
      },
      db: tdb.db,
      // Never called by these tests (no submit); a closed port keeps any accidental call local.
      pixelbyte: createPixelbyteClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'pb_unused' }),
      auth: createJwtVerifier({ secret: 'y'.repeat(32), issuer: 'tollgate', audience: 'tollgate' }),
      log,
      defaultMetrics: false,
    });
  });
  afterAll(async () => {
    await deps.pixelbyte.close();
    await tdb.close();
  });

  it('refuses anonymous calls with UNAUTHORIZED / MISSING_TOKEN', async () => {
    await expect(caller(null).account.get()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('an admin creates and funds a tenant, who then sees the balance', async () => {
    const admin = caller({ ok: true, principal: { role: 'admin', sub: 'root', mode: 'live' } });
    const t = await admin.admin.tenants.create({ name: 'caller-co', markupBps: 100 });
    const top = await admin.admin.credits.topUp({
      tenantId: t.id,
      amountMicroCents: '9007199254740991',
      idempotencyKey: 'k1',
      reference: 'wire',
    });
    expect(top).toMatchObject({ replayed: false, availableMicroCents: Number.MAX_SAFE_INTEGER });
    const again = await admin.admin.credits.topUp({
      tenantId: t.id,
      amountMicroCents: 9007199254740991,
      idempotencyKey: 'k1',
      reference: 'wire',
    });
    expect(again.replayed).toBe(true);
    const tenant = caller({
      ok: true,
      principal: { role: 'tenant', tenantId: t.id, sub: 'app', mode: 'live' },
    });
    expect(await tenant.account.get()).toMatchObject({
      tenantId: t.id,
      availableMicroCents: Number.MAX_SAFE_INTEGER,
    });
  });

  it('amounts beyond 2^53 - 1 are refused at the boundary; so is a credit that would take a balance past it', async () => {
    const admin = caller({ ok: true, principal: { role: 'admin', sub: 'root', mode: 'live' } });
    const t = await admin.admin.tenants.create({ name: 'big-co' });
    await expect(
      admin.admin.credits.topUp({
        tenantId: t.id,
        amountMicroCents: '9007199254740993',
        idempotencyKey: 'big',
        reference: 'r',
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const top = { tenantId: t.id, amountMicroCents: Number.MAX_SAFE_INTEGER, reference: 'r' };
    await admin.admin.credits.topUp({ ...top, idempotencyKey: 'a' });
    await expect(
      admin.admin.credits.topUp({ ...top, amountMicroCents: 1, reference: 'r2', idempotencyKey: 'b' }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    // Nothing was written: the balance is still answered, exactly.
    const tenant = caller({
      ok: true,
      principal: { role: 'tenant', tenantId: t.id, sub: 'app', mode: 'live' },
    });
    expect((await tenant.account.get()).availableMicroCents).toBe(Number.MAX_SAFE_INTEGER);
  });
});
