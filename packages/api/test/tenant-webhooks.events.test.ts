import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_START_MICRO_CENTS, tenantWebhookDeliveries } from '@tollgate/db';
import { migrationsFolder } from '@tollgate/db/client';
import { updateTenant } from '@tollgate/db/ledger';
import { and, asc, eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../src/workers/run-loop.ts';
import { createTenantWebhookWorker, signStandardWebhook } from '../src/workers/tenant-webhooks.ts';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Client,
  expectTRPCError,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from './harness.ts';
import { startReceiver, verifySignature } from './webhook-receiver.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('tenant webhooks: Standard Webhooks events, rotation, deliveries', () => {
  let h: Harness;
  let receiver: Receiver;
  const workers: Worker[] = [];
  const deliverOnce = () => {
    const w = createTenantWebhookWorker(h.gateway.deps, {
      intervalMs: 10,
      retryBaseMs: 30,
      timeoutMs: 2_000,
    });
    workers.push(w);
    return w.runOnce();
  };

  beforeAll(async () => {
    h = await startHarness();
    h.gateway.deps.config.allowHttpWebhooks = true;
    h.gateway.deps.config.allowPrivateWebhooks = true;
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  /** A tenant whose default webhook URL is the local receiver (set directly: admin URLs must be public https). */
  async function tenantWithHook(opts: Parameters<Harness['createTenant']>[0] = {}) {
    const t = await h.createTenant(opts);
    await updateTenant(h.db.db, { tenantId: t.tenantId, webhookUrl: receiver.url, actor: 'test' });
    const secret = (await h.admin.admin.tenants.get.query({ tenantId: t.tenantId })).webhookSecret ?? '';
    return { ...t, secret };
  }

  const deliveriesOf = (tenantId: string, type?: string) =>
    h.db.db
      .select()
      .from(tenantWebhookDeliveries)
      .where(
        and(
          eq(tenantWebhookDeliveries.tenantId, tenantId),
          type === undefined ? undefined : eq(tenantWebhookDeliveries.eventType, type),
        ),
      )
      .orderBy(asc(tenantWebhookDeliveries.createdAt), asc(tenantWebhookDeliveries.id));

  const receivedFor = (id: string) => receiver.received.filter((r) => r.headers['webhook-id'] === id);

  const submit = (client: Client) => client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });

  async function completedJob(client: Client) {
    const job = await submit(client);
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    return waitFor(async () => {
      const j = await client.jobs.get.query({ id: job.id });
      return j.status === 'completed' ? j : null;
    });
  }

  describe('secret rotation', () => {
    it('during the grace period both signatures are sent and each secret verifies; graceSeconds 0 drops the old one', async () => {
      const { client, tenantId, secret: oldSecret } = await tenantWithHook({ balanceMicroCents: 1_000_000 });
      const done = await completedJob(client);
      h.gateway.deps.config.webhookSecretGraceMs = 3_600_000;
      const rotated = await h.admin.admin.tenants.rotateWebhookSecret
        .mutate({ tenantId })
        .finally(() => delete h.gateway.deps.config.webhookSecretGraceMs);
      expect(
        Date.parse(rotated.previousSecretExpiresAt ?? '') - Date.parse(rotated.rotatedAt),
        'the configured grace (TENANT_WEBHOOK_SECRET_GRACE)',
      ).toBe(3_600_000);
      expect(await deliverOnce()).toBe(1);
      const [d] = await deliveriesOf(tenantId);
      const [req] = receivedFor(d?.id ?? '');
      if (!req) throw new Error('not delivered');
      const sigs = String(req.headers['webhook-signature']).split(' ');
      expect(sigs, 'new and old signature, space-separated').toHaveLength(2);
      expect(verifySignature(rotated.webhookSecret, req.headers, req.rawBody), 'new secret').toBe(true);
      expect(verifySignature(oldSecret, req.headers, req.rawBody), 'old secret, within grace').toBe(true);
      expect(JSON.parse(req.rawBody).data.id).toBe(done.id);

      // A leak: rotate with no grace; the next message is signed with the newest secret only.
      const again = await h.admin.admin.tenants.rotateWebhookSecret.mutate({ tenantId, graceSeconds: 0 });
      expect(again.previousSecretExpiresAt).toBeNull();
      await client.account.webhooks.redeliver.mutate({ id: d?.id ?? '' });
      expect(await deliverOnce()).toBe(1);
      const second = receivedFor(d?.id ?? '')[1];
      if (!second) throw new Error('not redelivered');
      expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifySignature(again.webhookSecret, second.headers, second.rawBody)).toBe(true);
      expect(verifySignature(rotated.webhookSecret, second.headers, second.rawBody)).toBe(false);
      expect(verifySignature(oldSecret, second.headers, second.rawBody)).toBe(false);
    });

    it('the README receivers: its Python verify() accepts a real delivery during a rotation and refuses a tampered one', async () => {
      const { client, tenantId, secret: oldSecret } = await tenantWithHook({ balanceMicroCents: 1_000_000 });
      await completedJob(client);
      const rotated = await h.admin.admin.tenants.rotateWebhookSecret.mutate({ tenantId });
      await deliverOnce();
      const [d] = await deliveriesOf(tenantId);
      const [req] = receivedFor(d?.id ?? '');
      if (!req) throw new Error('not delivered');
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      const python = /```python\n([\s\S]*?)```/.exec(readme)?.[1];
      if (!python) throw new Error('no Python receiver in the README');
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-receiver-'));
      writeFileSync(join(dir, 'receiver.py'), python);
      const check = (secret: string, body: string) =>
        execFileSync(
          'python3',
          [
            '-c',
            `import json, sys, receiver
a = json.load(sys.stdin)
try:
    print(receiver.verify(a["secret"], a["headers"], a["body"].encode())["type"])
except ValueError as e:
    print("refused:", e)`,
          ],
          {
            cwd: dir,
            env: { ...process.env, TOLLGATE_WEBHOOK_SECRET: secret },
            input: JSON.stringify({ secret, headers: req.headers, body }),
          },
        )
          .toString()
          .trim();
      expect(check(rotated.webhookSecret, req.rawBody)).toBe('job.completed');
      expect(check(oldSecret, req.rawBody), 'old secret within the grace').toBe('job.completed');
      expect(check(rotated.webhookSecret, req.rawBody.replace('livemode', 'livemodE'))).toBe(
        'refused: no matching signature',
      );
      rmSync(dir, { recursive: true, force: true });
    });

    it('migration 0019 re-encodes a legacy whsec_<base64url> secret: same key bytes, accepted by standardwebhooks', async () => {
      const { tenantId } = await h.createTenant();
      let key = randomBytes(24);
      while (!/[-_]/.test(key.toString('base64url'))) key = randomBytes(24);
      const legacy = `whsec_${key.toString('base64url')}`;
      expect(() => new Webhook(legacy).sign('msg_1', new Date(), '{}')).toThrow();
      await h.db.sql`UPDATE tenants SET webhook_secret = ${legacy} WHERE id = ${tenantId}`;
      const file = readdirSync(migrationsFolder).find((f) => f.endsWith('_standard_webhooks.sql'));
      const migration = readFileSync(`${migrationsFolder}/${file}`, 'utf8');
      const update = migration
        .split('--> statement-breakpoint')
        .map((part) => part.replace(/^\s*--.*$/gm, '').trim())
        .find((part) => part.startsWith('UPDATE tenants'));
      if (!update) throw new Error('no secret re-encoding in migration 0019');
      await h.db.sql.unsafe(update);
      const [row] = await h.db.sql<{ webhook_secret: string }[]>`
        SELECT webhook_secret FROM tenants WHERE id = ${tenantId}`;
      const secret = row?.webhook_secret ?? '';
      expect(secret).toBe(`whsec_${key.toString('base64')}`);
      const ts = new Date();
      expect(new Webhook(secret).sign('msg_1', ts, '{"a":1}')).toBe(
        signStandardWebhook(secret, 'msg_1', Math.floor(ts.getTime() / 1000), '{"a":1}'),
      );
    });
  });

  describe('balance.low', () => {
    it('fires once when available falls below the threshold, re-arms after a top-up, and is verifiable', async () => {
      const { client, tenantId, secret } = await tenantWithHook({ balanceMicroCents: 3 * CHEAP_PRICE });
      const threshold = 2 * CHEAP_PRICE - 1;
      const updated = await h.admin.admin.tenants.update.mutate({
        tenantId,
        lowBalanceThresholdMicroCents: threshold,
      });
      expect(updated.lowBalanceThresholdMicroCents).toBe(threshold);
      expect((await client.account.get.query()).lowBalanceThresholdMicroCents).toBe(threshold);

      await submit(client); // 2 × price left: still ≥ threshold
      expect(await deliveriesOf(tenantId, 'balance.low')).toHaveLength(0);
      await submit(client); // 1 × price: crossed
      await submit(client); // 0: still below, no second event
      const low = await deliveriesOf(tenantId, 'balance.low');
      expect(low).toHaveLength(1);

      await h.admin.admin.credits.topUp.mutate({
        tenantId,
        amountMicroCents: 3 * CHEAP_PRICE,
        reference: 're-arm',
      });
      await submit(client);
      await submit(client); // crossed again
      expect(await deliveriesOf(tenantId, 'balance.low')).toHaveLength(2);

      await deliverOnce();
      const [first] = receivedFor(low[0]?.id ?? '');
      if (!first) throw new Error('balance.low not delivered');
      expect(verifySignature(secret, first.headers, first.rawBody)).toBe(true);
      expect(JSON.parse(first.rawBody)).toEqual({
        type: 'balance.low',
        timestamp: low[0]?.createdAt.toISOString(),
        data: {
          tenantId,
          availableMicroCents: CHEAP_PRICE,
          thresholdMicroCents: threshold,
          livemode: true,
        },
      });
    });

    it('a negative adjustment can cross it; raising the threshold above the balance is not a crossing', async () => {
      const { tenantId } = await tenantWithHook({ balanceMicroCents: 1_000_000 });
      await h.admin.admin.tenants.update.mutate({ tenantId, lowBalanceThresholdMicroCents: 2_000_000 });
      expect(await deliveriesOf(tenantId, 'balance.low'), 'threshold change alone').toHaveLength(0);
      await h.admin.admin.tenants.update.mutate({ tenantId, lowBalanceThresholdMicroCents: 500_000 });
      await h.admin.admin.credits.adjust.mutate({
        tenantId,
        amountMicroCents: -600_000,
        reason: 'correction',
      });
      const low = await deliveriesOf(tenantId, 'balance.low');
      expect(low.map((d) => d.payload)).toEqual([
        { tenantId, availableMicroCents: 400_000, thresholdMicroCents: 500_000 },
      ]);
      await h.admin.admin.tenants.update.mutate({ tenantId, lowBalanceThresholdMicroCents: null });
      await h.admin.admin.credits.topUp.mutate({ tenantId, amountMicroCents: 1_000_000, reference: 'x' });
      await h.admin.admin.credits.adjust.mutate({ tenantId, amountMicroCents: -1_300_000, reason: 'y' });
      expect(await deliveriesOf(tenantId, 'balance.low'), 'null threshold = off').toHaveLength(1);
    });

    it('concurrent submits crossing the threshold together enqueue exactly one event', async () => {
      const { client, tenantId } = await tenantWithHook({ balanceMicroCents: 20 * CHEAP_PRICE });
      await h.admin.admin.tenants.update.mutate({
        tenantId,
        lowBalanceThresholdMicroCents: 10 * CHEAP_PRICE,
      });
      const results = await Promise.allSettled(Array.from({ length: 16 }, () => submit(client)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(16);
      expect(await deliveriesOf(tenantId, 'balance.low')).toHaveLength(1);
      await h.expectReconciled();
    });

    it('concurrent submits and top-ups: one event per crossing of the ledger sequence, no more, no less', async () => {
      const { client, tenantId } = await tenantWithHook({ balanceMicroCents: 4 * CHEAP_PRICE });
      const threshold = 3 * CHEAP_PRICE;
      await h.admin.admin.tenants.update.mutate({ tenantId, lowBalanceThresholdMicroCents: threshold });
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 24; i++) {
        ops.push(submit(client).catch(() => undefined)); // a refusal (no money) moves nothing
        if (i % 3 === 0) {
          ops.push(
            h.admin.admin.credits.topUp.mutate({
              tenantId,
              amountMicroCents: 2 * CHEAP_PRICE,
              reference: `topup-${i}`,
            }),
          );
        }
      }
      await Promise.all(ops);
      // The tenant's available balance after each movement, in commit order (each line is written
      // while its transaction holds the balance row's lock, so line ids follow that order).
      const lines = await h.db.sql<{ after: bigint }[]>`
        SELECT l.balance_after_micro_cents AS after FROM ledger_lines l
        WHERE l.tenant_id = ${tenantId} AND l.account = 'tenant_available' ORDER BY l.id`;
      let previous = 0n;
      let crossings = 0;
      for (const { after } of lines) {
        if (previous >= BigInt(threshold) && after < BigInt(threshold)) crossings++;
        previous = after;
      }
      expect(crossings, 'the run crossed at least once').toBeGreaterThan(0);
      expect(await deliveriesOf(tenantId, 'balance.low')).toHaveLength(crossings);
      await h.expectReconciled();
    });

    it('BAD_REQUEST for a negative or non-integer threshold, nothing changed', async () => {
      const { tenantId } = await h.createTenant();
      for (const v of [-1, 1.5, '12a']) {
        const e = await expectTRPCError(
          h.admin.admin.tenants.update.mutate({
            tenantId,
            lowBalanceThresholdMicroCents: v as unknown as number,
          }),
        );
        expect(e, String(v)).toMatchObject({ code: 'BAD_REQUEST' });
      }
      expect((await h.admin.admin.tenants.get.query({ tenantId })).lowBalanceThresholdMicroCents).toBeNull();
    });
  });

  describe('limit.reached', () => {
    it('a hot loop of refusals sends one event per limit and window; another limit is its own event', async () => {
      // Windows are aligned to the epoch (15 min by default): a hot loop crossing :00, :15, :30 or
      // :45 would rightly send a second event. A year-long window keeps this test off the boundary.
      h.gateway.deps.config.limitReachedWebhookIntervalMs = 365 * 24 * 3_600_000;
      try {
        const { client, tenantId, secret } = await tenantWithHook({
          balanceMicroCents: 10 * CHEAP_PRICE,
          limits: { maxConcurrentJobs: 1 },
        });
        await submit(client); // takes the only slot (pending: the simulator does not advance it)
        const refusals = await Promise.allSettled(Array.from({ length: 20 }, () => submit(client)));
        expect(refusals.every((r) => r.status === 'rejected')).toBe(true);
        for (let i = 0; i < 10; i++) await expectTRPCError(submit(client));
        const events = await deliveriesOf(tenantId, 'limit.reached');
        expect(events).toHaveLength(1);
        expect(events[0]?.payload).toMatchObject({
          tenantId,
          reason: 'CONCURRENT_JOBS_LIMIT',
          limit: 1,
          retryAfterSeconds: expect.any(Number),
        });

        await h.admin.admin.tenants.update.mutate({
          tenantId,
          limits: { maxConcurrentJobs: null, dailySpendLimitMicroCents: CHEAP_PRICE },
        });
        const e = await expectTRPCError(submit(client));
        expect(e.reason).toBe('DAILY_SPEND_LIMIT');
        await expectTRPCError(submit(client));
        const all = await deliveriesOf(tenantId, 'limit.reached');
        expect(all.map((d) => (d.payload as { reason: string }).reason)).toEqual([
          'CONCURRENT_JOBS_LIMIT',
          'DAILY_SPEND_LIMIT',
        ]);

        await deliverOnce();
        const [req] = receivedFor(events[0]?.id ?? '');
        if (!req) throw new Error('limit.reached not delivered');
        expect(verifySignature(secret, req.headers, req.rawBody)).toBe(true);
        expect(JSON.parse(req.rawBody)).toMatchObject({
          type: 'limit.reached',
          data: { tenantId, reason: 'CONCURRENT_JOBS_LIMIT', limit: 1, livemode: true },
        });
      } finally {
        delete h.gateway.deps.config.limitReachedWebhookIntervalMs;
      }
    });

    it('the next window sends it again (TENANT_WEBHOOK_LIMIT_REACHED_INTERVAL)', async () => {
      const { client, tenantId } = await tenantWithHook({
        balanceMicroCents: 10 * CHEAP_PRICE,
        limits: { maxConcurrentJobs: 1 },
      });
      await submit(client);
      h.gateway.deps.config.limitReachedWebhookIntervalMs = 300;
      try {
        const events = await waitFor(
          async () => {
            await expectTRPCError(submit(client));
            const rows = await deliveriesOf(tenantId, 'limit.reached');
            return rows.length >= 2 ? rows : null;
          },
          { what: 'a second window' },
        );
        expect(new Set(events.map((d) => d.dedupKey)).size).toBe(events.length);
      } finally {
        delete h.gateway.deps.config.limitReachedWebhookIntervalMs;
      }
    });

    it('no webhook URL → nothing enqueued; an insufficient balance is not limit.reached', async () => {
      const noHook = await h.createTenant({
        balanceMicroCents: 10 * CHEAP_PRICE,
        limits: { maxConcurrentJobs: 1 },
      });
      await submit(noHook.client);
      await expectTRPCError(submit(noHook.client));
      expect(await deliveriesOf(noHook.tenantId)).toHaveLength(0);

      const poor = await tenantWithHook({ balanceMicroCents: CHEAP_PRICE - 1 });
      expect((await expectTRPCError(submit(poor.client))).reason).toBe('INSUFFICIENT_BALANCE');
      expect(await deliveriesOf(poor.tenantId)).toHaveLength(0);
    });
  });

  describe('test mode', () => {
    it('a sandbox’s events say livemode: false and the tenant’s own id, are signed with its secret, and are listed in test mode only', async () => {
      const t = await tenantWithHook({ balanceMicroCents: 1_000_000 });
      await h.admin.admin.tenants.update.mutate({
        tenantId: t.tenantId,
        lowBalanceThresholdMicroCents: Number(SANDBOX_START_MICRO_CENTS) - 1,
      });
      const issued = await h.admin.admin.tenants.issueToken.mutate({ tenantId: t.tenantId, mode: 'test' });
      const test = makeClient(h.url, issued.token);
      expect((await test.account.get.query()).lowBalanceThresholdMicroCents).toBe(
        Number(SANDBOX_START_MICRO_CENTS) - 1,
      );
      const job = await test.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
      const done = await waitFor(
        async () => {
          const j = await test.jobs.get.query({ id: job.id });
          return j.status === 'completed' ? j : null;
        },
        { what: 'the test job to complete' },
      );
      const listed = await waitFor(async () => {
        const items = (await test.account.webhooks.deliveries.query()).items;
        return items.length === 2 ? items : null;
      });
      expect(listed.map((d) => d.type).sort()).toEqual(['balance.low', 'job.completed']);
      expect((await t.client.account.webhooks.deliveries.query()).items, 'not in the live list').toEqual([]);

      await deliverOnce();
      const bodies = listed.map((d) => {
        const [req] = receivedFor(d.id);
        if (!req) throw new Error(`${d.type} not delivered`);
        expect(verifySignature(t.secret, req.headers, req.rawBody), d.type).toBe(true);
        return JSON.parse(req.rawBody);
      });
      const low = bodies.find((b) => b.type === 'balance.low');
      expect(low.data).toEqual({
        tenantId: t.tenantId,
        availableMicroCents: Number(SANDBOX_START_MICRO_CENTS) - CHEAP_PRICE,
        thresholdMicroCents: Number(SANDBOX_START_MICRO_CENTS) - 1,
        livemode: false,
      });
      const completed = bodies.find((b) => b.type === 'job.completed');
      expect(completed.data).toEqual({ ...done, livemode: false, tenantId: t.tenantId });

      await h.admin.admin.tenants.update.mutate({ tenantId: t.tenantId, lowBalanceThresholdMicroCents: 5 });
      expect((await test.account.get.query()).lowBalanceThresholdMicroCents, 'the sandbox follows').toBe(5);
    });
  });

  describe('account.webhooks.deliveries / redeliver', () => {
    async function tenantWithEvents(n: number) {
      const t = await tenantWithHook({ balanceMicroCents: 10 * CHEAP_PRICE });
      const jobs = [];
      for (let i = 0; i < n; i++) jobs.push(await completedJob(t.client));
      return { ...t, jobs };
    }

    it('lists the tenant its own deliveries, newest first, cursor-paginated and filtered', async () => {
      const a = await tenantWithEvents(3);
      const b = await tenantWithHook();
      await deliverOnce();
      const page1 = await a.client.account.webhooks.deliveries.query({ limit: 2 });
      expect(page1.items).toHaveLength(2);
      expect(page1.nextCursor).toEqual(expect.any(String));
      const page2 = await a.client.account.webhooks.deliveries.query({
        limit: 2,
        cursor: page1.nextCursor ?? '',
      });
      expect(page2).toMatchObject({ nextCursor: null });
      const all = [...page1.items, ...page2.items];
      expect(all.map((d) => d.jobId)).toEqual(a.jobs.map((j) => j.id).reverse());
      expect(all[0]).toMatchObject({
        id: expect.stringMatching(/^whd_/),
        type: 'job.completed',
        url: receiver.url,
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
        nextAttemptAt: null,
      });
      expect(
        (await a.client.account.webhooks.deliveries.query({ jobId: a.jobs[0]?.id ?? '' })).items,
      ).toHaveLength(1);
      expect((await a.client.account.webhooks.deliveries.query({ type: 'balance.low' })).items).toEqual([]);
      expect((await b.client.account.webhooks.deliveries.query()).items, 'never another tenant’s').toEqual(
        [],
      );
      const bad = await expectTRPCError(a.client.account.webhooks.deliveries.query({ cursor: 'nope' }));
      expect(bad.code).toBe('BAD_REQUEST');
    });

    it('redeliver sends the same message again once, however many concurrent calls; another tenant gets NOT_FOUND', async () => {
      const a = await tenantWithEvents(1);
      const b = await tenantWithHook();
      await deliverOnce();
      const [d] = (await a.client.account.webhooks.deliveries.query()).items;
      if (!d) throw new Error('no delivery');
      const [first] = receivedFor(d.id);

      const e = await expectTRPCError(b.client.account.webhooks.redeliver.mutate({ id: d.id }));
      expect(e).toMatchObject({ code: 'NOT_FOUND', reason: 'WEBHOOK_DELIVERY_NOT_FOUND' });
      expect((await a.client.account.webhooks.deliveries.query()).items[0]).toEqual(d);

      const calls = await Promise.all(
        Array.from({ length: 5 }, () => a.client.account.webhooks.redeliver.mutate({ id: d.id })),
      );
      expect(calls.every((c) => c.status === 'pending' && c.id === d.id)).toBe(true);
      expect(await deliverOnce()).toBe(1);
      expect(await deliverOnce(), 'nothing more queued').toBe(0);
      const sent = receivedFor(d.id);
      expect(sent, 'the original and exactly one redelivery').toHaveLength(2);
      const [again] = sent.slice(1);
      expect(again?.rawBody, 'the same message').toBe(first?.rawBody);
      expect(verifySignature(a.secret, again?.headers ?? {}, again?.rawBody ?? '')).toBe(true);
      const after = (await a.client.account.webhooks.deliveries.query()).items[0];
      expect(after).toMatchObject({ id: d.id, status: 'delivered', attempts: 2 });

      const missing = await expectTRPCError(
        a.client.account.webhooks.redeliver.mutate({ id: 'whd_00000000000000000000000000000000' }),
      );
      expect(missing.code).toBe('NOT_FOUND');
      const malformed = await expectTRPCError(a.client.account.webhooks.redeliver.mutate({ id: 'job_x' }));
      expect(malformed.code).toBe('BAD_REQUEST');
    });

    it('a failed delivery gets a fresh retry budget and goes to the tenant’s current URL', async () => {
      const gone = await startReceiver();
      await gone.close();
      const t = await h.createTenant({ balanceMicroCents: 10 * CHEAP_PRICE });
      await updateTenant(h.db.db, { tenantId: t.tenantId, webhookUrl: gone.url, actor: 'test' });
      await completedJob(t.client);
      const w = createTenantWebhookWorker(h.gateway.deps, { maxAttempts: 1, timeoutMs: 2_000 });
      workers.push(w);
      await w.runOnce();
      const [failed] = (await t.client.account.webhooks.deliveries.query()).items;
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, url: gone.url });

      await updateTenant(h.db.db, { tenantId: t.tenantId, webhookUrl: receiver.url, actor: 'test' });
      const queued = await t.client.account.webhooks.redeliver.mutate({ id: failed?.id ?? '' });
      expect(queued).toMatchObject({ status: 'pending', url: receiver.url });
      expect(await w.runOnce()).toBe(1);
      expect(receivedFor(failed?.id ?? '')).toHaveLength(1);
      expect((await t.client.account.webhooks.deliveries.query()).items[0]).toMatchObject({
        status: 'delivered',
        attempts: 2,
      });
    });
  });
});
