import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  type Client,
  expectTRPCError,
  type Harness,
  makeClient,
  startHarness,
} from './harness.ts';

const NEW_MODEL_RULE = {
  model: 'acme/audit-1/text-to-image',
  name: 'Acme audit 1',
  category: 'image',
  unit: 'request',
  baseCostMicroCents: '12345',
  priceVersion: 'acme-audit-v1',
  effectiveFrom: '2020-01-01T00:00:00Z',
  params: { prompt: { type: 'string', required: true, minLength: 1, maxLength: 500 } },
};

describe('admin/finance role matrix and audit', () => {
  let h: Harness;
  let tenant: { tenantId: string; token: string; client: Client };
  let finance: Client;
  let financeToken: string;
  let anon: Client;

  beforeAll(async () => {
    h = await startHarness();
    tenant = await h.createTenant({ balanceMicroCents: 1_000_000 });
    financeToken = await h.token({ role: 'finance', sub: 'finance-alice' });
    finance = makeClient(h.url, financeToken);
    anon = makeClient(h.url, null);
  });
  afterAll(async () => {
    await h.close();
  });

  /** Every admin mutation, called with arguments that would succeed for an admin. */
  const adminMutations = (c: Client, tenantId: string) => ({
    'tenants.create': () => c.admin.tenants.create.mutate({ name: 'matrix' }),
    'tenants.update': () => c.admin.tenants.update.mutate({ tenantId, markupBps: 10 }),
    'tenants.suspend': () => c.admin.tenants.suspend.mutate({ tenantId }),
    'tenants.reactivate': () => c.admin.tenants.reactivate.mutate({ tenantId }),
    'tenants.issueToken': () => c.admin.tenants.issueToken.mutate({ tenantId, ttlSeconds: 600 }),
    'tenants.rotateWebhookSecret': () => c.admin.tenants.rotateWebhookSecret.mutate({ tenantId }),
    'credits.topUp': () =>
      c.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 1,
        idempotencyKey: 'm-top',
        reference: 'm',
      }),
    'credits.adjust': () =>
      c.admin.credits.adjust.mutate({ tenantId, amountMicroCents: 1, idempotencyKey: 'm-adj', reason: 'm' }),
    'prices.upsert': () =>
      c.admin.prices.upsert.mutate({ rule: NEW_MODEL_RULE, effectiveFrom: '2020-01-01T00:00:00Z' }),
    'jobs.resolve': () =>
      c.admin.jobs.resolve.mutate({ jobId: 'job_doesnotexist', decision: 'refund', reason: 'm' }),
  });

  it('tenant and finance tokens cannot call any admin mutation (FORBIDDEN, nothing written)', async () => {
    const [before] = await h.db.sql<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM audit_log`;
    for (const [who, client] of [
      ['tenant', tenant.client],
      ['finance', finance],
    ] as const) {
      for (const [name, call] of Object.entries(adminMutations(client, tenant.tenantId))) {
        const e = await expectTRPCError(call());
        expect(e, `${who} → admin.${name}`).toMatchObject({
          code: 'FORBIDDEN',
          reason: 'WRONG_ROLE',
          httpStatus: 403,
        });
      }
      for (const [name, call] of Object.entries({
        'tenants.list': () => client.admin.tenants.list.query(),
        'tenants.get': () => client.admin.tenants.get.query({ tenantId: tenant.tenantId }),
        'audit.list': () => client.admin.audit.list.query(),
        ...(who === 'tenant' ? { reconcile: () => client.admin.reconcile.query() } : {}),
      })) {
        const e = await expectTRPCError(call());
        expect(e, `${who} → admin.${name}`).toMatchObject({ code: 'FORBIDDEN' });
      }
    }
    const [after] = await h.db.sql<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM audit_log`;
    expect(after?.n).toBe(before?.n);
  });

  it('finance (and admin) can read reports; a tenant cannot; anonymous gets 401', async () => {
    const day = 86_400_000;
    // Whole UTC days (usage reads the daily roll-up): yesterday to the end of tomorrow.
    const today = Math.floor(Date.now() / day) * day;
    const period = {
      from: new Date(today - day).toISOString(),
      to: new Date(today + 2 * day).toISOString(),
    };
    for (const client of [finance, h.admin]) {
      await expect(client.finance.usage.query({ ...period, groupBy: ['tenant'] })).resolves.toMatchObject({
        totals: expect.any(Object),
      });
      await expect(client.finance.balances.query()).resolves.toMatchObject({ balanced: true });
      await expect(client.finance.ledger.query(period)).resolves.toMatchObject({ items: expect.any(Array) });
      // The reconciliation is finance's proof too (read-only; under its admin name).
      await expect(client.admin.reconcile.query()).resolves.toMatchObject({ ok: true, discrepancies: [] });
    }
    for (const call of [
      () => tenant.client.finance.usage.query({ ...period, groupBy: [] }),
      () => tenant.client.finance.balances.query(),
      () => tenant.client.finance.ledger.query(period),
    ]) {
      expect(await expectTRPCError(call())).toMatchObject({ code: 'FORBIDDEN', reason: 'WRONG_ROLE' });
    }
    expect(await expectTRPCError(anon.finance.balances.query())).toMatchObject({ code: 'UNAUTHORIZED' });

    const q = new URLSearchParams(period).toString();
    for (const path of [`/reports/usage.csv?${q}`, `/reports/ledger.csv?${q}`]) {
      const ok = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${financeToken}` } });
      expect(ok.status, `finance ${path}`).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/csv');
      await ok.text();
      const forbidden = await fetch(`${h.url}${path}`, {
        headers: { authorization: `Bearer ${tenant.token}` },
      });
      expect(forbidden.status, `tenant ${path}`).toBe(403);
      expect(await forbidden.json()).toMatchObject({ code: 'FORBIDDEN', reason: 'WRONG_ROLE' });
      const anonymous = await fetch(`${h.url}${path}`);
      expect(anonymous.status, `anonymous ${path}`).toBe(401);
      await anonymous.body?.cancel();
    }

    // The CSV routes and the finance procedures refuse through one role check: the same status,
    // code, reason and message on both transports (tenant, no credentials, another scheme than Bearer).
    for (const [who, authorization] of [
      ['tenant', `Bearer ${tenant.token}`],
      ['anonymous', null],
      ['not Bearer', 'Basic Zm9vOmJhcg=='],
    ] as const) {
      const headers: Record<string, string> = authorization === null ? {} : { authorization };
      const trpc = await fetch(`${h.url}/trpc/finance.balances`, { headers });
      const trpcError = ((await trpc.json()) as { error: { message: string; data: Record<string, unknown> } })
        .error;
      const csv = await fetch(`${h.url}/reports/ledger.csv?${q}`, { headers });
      expect(csv.status, who).toBe(trpc.status);
      expect(await csv.json(), who).toMatchObject({
        code: trpcError.data.code,
        reason: trpcError.data.reason,
        message: trpcError.message,
      });
    }
  });

  it('every admin mutation leaves exactly one audit row (actor = sub, target, before/after)', async () => {
    const target = await h.createTenant({ balanceMicroCents: 500_000 });
    const job = await target.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const calls = adminMutations(h.admin, target.tenantId);
    const expected: Record<keyof typeof calls, { action: string; targetType: string }> = {
      'tenants.create': { action: 'tenant.create', targetType: 'tenant' },
      'tenants.update': { action: 'tenant.update', targetType: 'tenant' },
      'tenants.suspend': { action: 'tenant.suspend', targetType: 'tenant' },
      'tenants.reactivate': { action: 'tenant.reactivate', targetType: 'tenant' },
      'tenants.issueToken': { action: 'tenant.issue_token', targetType: 'tenant' },
      'tenants.rotateWebhookSecret': { action: 'tenant.rotate_webhook_secret', targetType: 'tenant' },
      'credits.topUp': { action: 'credits.top_up', targetType: 'tenant' },
      'credits.adjust': { action: 'credits.adjust', targetType: 'tenant' },
      'prices.upsert': { action: 'price.upsert', targetType: 'model' },
      'jobs.resolve': { action: 'job.resolve', targetType: 'job' },
    };
    const withRealJob = {
      ...calls,
      'jobs.resolve': () =>
        h.admin.admin.jobs.resolve.mutate({ jobId: job.id, decision: 'refund', reason: 'audit test' }),
    };
    for (const [name, call] of Object.entries(withRealJob) as [
      keyof typeof calls,
      () => Promise<unknown>,
    ][]) {
      const [last] = await h.db.sql<{ max: string }[]>`
        SELECT coalesce(max(id), 0)::text AS max FROM audit_log`;
      const max = last?.max ?? '0';
      await call();
      const rows = await h.db.sql<{ actor: string; action: string; target_type: string; after: unknown }[]>`
        SELECT actor, action, target_type, after FROM audit_log WHERE id > ${max}::bigint ORDER BY id`;
      expect(rows, `admin.${name} audit rows`).toHaveLength(1);
      expect(rows[0], `admin.${name}`).toMatchObject({
        actor: 'test-admin',
        action: expected[name].action,
        target_type: expected[name].targetType,
      });
      expect(rows[0]?.after, `admin.${name} records what it did`).not.toBeNull();
    }
    const audit = await h.admin.admin.audit.list.query({ targetId: target.tenantId, limit: 100 });
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['tenant.update', 'tenant.suspend', 'tenant.reactivate', 'credits.adjust']),
    );
    const suspend = audit.items.find((a) => a.action === 'tenant.suspend');
    expect(suspend).toMatchObject({
      actor: 'test-admin',
      before: { status: 'active' },
      after: { status: 'suspended' },
    });
    await h.expectReconciled();
  });

  it('webhook secret: admin.tenants.get shows it, rotateWebhookSecret replaces it (audited, never in the audit row)', async () => {
    const created = await h.admin.admin.tenants.create.mutate({ name: 'secret-co' });
    expect(created.webhookSecret).toMatch(/^whsec_/);
    const got = await h.admin.admin.tenants.get.query({ tenantId: created.id });
    expect(got.webhookSecret, 'get returns the secret made at creation').toBe(created.webhookSecret);
    const listed = await h.admin.admin.tenants.list.query({ name: 'secret-co' });
    expect(JSON.stringify(listed), 'never in lists').not.toContain('whsec_');

    const rotated = await h.admin.admin.tenants.rotateWebhookSecret.mutate({ tenantId: created.id });
    expect(rotated).toMatchObject({ tenantId: created.id, rotatedAt: expect.any(String) });
    // Standard Webhooks: `whsec_` + standard base64 of a 32-byte key.
    expect(rotated.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(rotated.webhookSecret.slice(6), 'base64')).toHaveLength(32);
    expect(rotated.webhookSecret).not.toBe(created.webhookSecret);
    // The stored secret (what the webhook worker signs with) is the new one.
    expect((await h.admin.admin.tenants.get.query({ tenantId: created.id })).webhookSecret).toBe(
      rotated.webhookSecret,
    );
    const [row] = await h.db.sql<{ webhook_secret: string }[]>`
      SELECT webhook_secret FROM tenants WHERE id = ${created.id}`;
    expect(row?.webhook_secret).toBe(rotated.webhookSecret);
    // The audit trail says who rotated it, not what it is.
    const audits = await h.db.sql<{ action: string; before: unknown; after: unknown }[]>`
      SELECT action, before, after FROM audit_log WHERE target_id = ${created.id} ORDER BY id`;
    expect(audits.map((a) => a.action)).toEqual(['tenant.create', 'tenant.rotate_webhook_secret']);
    expect(JSON.stringify(audits)).not.toContain('whsec_');

    // Unknown tenant: NOT_FOUND and nothing written.
    const [before] = await h.db.sql<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM audit_log`;
    const e = await expectTRPCError(
      h.admin.admin.tenants.rotateWebhookSecret.mutate({ tenantId: 'ten_doesnotexist' }),
    );
    expect(e).toMatchObject({ code: 'NOT_FOUND', reason: 'TENANT_NOT_FOUND' });
    const [after] = await h.db.sql<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM audit_log`;
    expect(after?.n).toBe(before?.n);
  });
});
