// REPORTS_DATABASE_URL: the finance reports (finance.usage, finance.ledger, usage.csv, ledger.csv)
// read a second connection — in production a read replica of the primary. Here the "replica" is a
// second database that holds DIFFERENT rows than the primary, so each answer shows which one it
// read: reports from the replica, money and balances on the primary.
import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHEAP_INPUT,
  CHEAP_MODEL,
  CHEAP_PRICE,
  type Harness,
  makeClient,
  startHarness,
  waitFor,
} from './harness.ts';

describe('finance reports from a read replica (REPORTS_DATABASE_URL)', () => {
  let replica: TestDatabase;
  let h: Harness;
  const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
  const period = {
    from: new Date(today.getTime() - 86_400_000).toISOString(),
    // Tomorrow included: the row below is dated by the DB clock in beforeAll, after this is computed.
    to: new Date(today.getTime() + 2 * 86_400_000).toISOString(),
  };

  beforeAll(async () => {
    replica = await createTestDatabase({ max: 2 });
    // The replica's own history: one tenant, one top-up, one day of usage (as replication would bring).
    await replica.sql`INSERT INTO tenants (id, name) VALUES ('ten_replica', 'Replica Co')`;
    await replica.sql`INSERT INTO tenant_balances (tenant_id) VALUES ('ten_replica')`;
    await replica.sql`INSERT INTO usage_daily (tenant_id, model, day, jobs, completed_jobs, charged_micro_cents, upstream_cost_micro_cents)
                      VALUES ('ten_replica', 'm/replica', (now() AT TIME ZONE 'UTC')::date, 7, 7, 777, 700)`;
    h = await startHarness({ reportsDatabaseUrl: replica.url });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await replica?.close();
  });

  it('usage and ledger reports read the replica; jobs, money and balances stay on the primary', async () => {
    const { tenantId, client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const job = await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    await h.sim.control.advance(job.upstreamJobId ?? '', 'completed');
    await waitFor(async () => (await client.jobs.get.query({ id: job.id })).status === 'completed', {
      what: 'job completed',
    });
    const finance = makeClient(h.url, await h.token({ role: 'finance', sub: 'finance-replica' }));

    // The primary charged the job…
    const balances = await finance.finance.balances.query();
    expect(balances.tenants.map((t) => t.tenantId)).toContain(tenantId);
    expect(balances.platform.revenueMicroCents).toBe(CHEAP_PRICE);
    // …but the reports answer from the replica: its tenant, its day, none of the primary's rows.
    const usage = await finance.finance.usage.query({ ...period, groupBy: ['tenant', 'model'] });
    expect(usage.rows).toEqual([
      expect.objectContaining({
        tenantId: 'ten_replica',
        tenantName: 'Replica Co',
        model: 'm/replica',
        jobs: 7,
        chargedMicroCents: 777,
        marginMicroCents: 77,
      }),
    ]);
    const ledger = await finance.finance.ledger.query(period);
    expect(ledger.items).toEqual([]);

    const headers = { authorization: `Bearer ${await h.token({ role: 'finance', sub: 'finance-replica' })}` };
    const usageCsv = await fetch(
      `${h.url}/reports/usage.csv?${new URLSearchParams({ ...period, groupBy: 'tenant' })}`,
      {
        headers,
      },
    );
    expect(parse(await usageCsv.text(), { columns: true })).toEqual([
      expect.objectContaining({
        tenant_id: 'ten_replica',
        tenant_name: 'Replica Co',
        charged_micro_cents: '777',
      }),
    ]);
    const ledgerCsv = await fetch(`${h.url}/reports/ledger.csv?${new URLSearchParams(period)}`, { headers });
    expect(parse(await ledgerCsv.text(), { columns: true })).toEqual([]);

    // The primary's own roll-up has the job (what the replica would show once replicated).
    const [primary] = await h.db.sql<{ charged: string }[]>`
      SELECT sum(charged_micro_cents)::text AS charged FROM usage_daily WHERE tenant_id = ${tenantId}`;
    expect(primary?.charged).toBe(String(CHEAP_PRICE));
  });
});
