// The operator console in a real browser (Debian's Chromium) against a real gateway + Pixelbyte
// simulator + Postgres: the console's production build served by the gateway at /console.
import { readFile } from 'node:fs/promises';
import { formatUsd } from '@tollgate/pricing/money';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE, type Harness, startHarness } from '../../api/test/harness.ts';
import { type Browser, capture, launch } from './browser.ts';

let h: Harness;
let b: Browser;
let page: Page;
let adminToken = '';
let financeToken = '';
let jobsTenantId = '';
/** The UTC day (DB clock) the usage below was charged on: not "today" if the run crossed midnight. */
let usageDay = '';

const usdText = (microCents: number | string) => `$${formatUsd(BigInt(microCents))}`;

async function signIn(credential: string) {
  await page.goto(`${h.url}/console`);
  await page.getByLabel('API key or token', { exact: true }).fill(credential);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
}

async function go(linkName: string, heading: string) {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: linkName, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
}

beforeAll(async () => {
  h = await startHarness();
  adminToken = await h.token({ role: 'admin', sub: 'console-e2e-admin' });
  financeToken = await h.token({ role: 'finance', sub: 'console-e2e-finance' });

  // 1,000 tenants: the console pages through them instead of rendering them all.
  await h.db.sql`INSERT INTO tenants (id, name, created_at)
    SELECT 'ten_bulk_' || g, 'Bulk tenant ' || g, now() - make_interval(mins => g) FROM generate_series(1, 1000) g`;
  await h.db
    .sql`INSERT INTO tenant_balances (tenant_id) SELECT 'ten_bulk_' || g FROM generate_series(1, 1000) g`;

  // Usage: three jobs charged today, one cancelled (refunded), and one whose submit answer was lost.
  const t = await h.createTenant({ balanceMicroCents: 1_000_000, markupBps: 2_500 });
  jobsTenantId = t.tenantId;
  const jobs = [];
  for (let i = 0; i < 3; i++)
    jobs.push(await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }));
  const first = jobs[0];
  if (!first) throw new Error('no job');
  await t.client.jobs.cancel.mutate({ id: first.id });
  h.sim.control.loseAnswerNextSubmits(1);
  await t.client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT }).catch(() => undefined);
  const [day] = await h.db.sql<{ d: string }[]>`
    SELECT to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d FROM ledger_transactions
     WHERE tenant_id = ${jobsTenantId} AND kind IN ('capture', 'refund')`;
  usageDay = day?.d ?? '';

  b = await launch();
  page = b.page;
}, 240_000);

afterAll(async () => {
  await b?.close();
  await h?.close();
});

describe('operator console in Chromium', { timeout: 120_000 }, () => {
  it('shows the sign-in page and refuses a bad credential with a message', async () => {
    const res = await page.goto(`${h.url}/console`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByLabel('API key or token', { exact: true }).waitFor();
    expect(await capture(page, '01-sign-in')).toEqual([]);
    await page.getByLabel('API key or token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').getByText('did not accept').waitFor();
  });

  it('signs in with an admin JWT; the credential is in sessionStorage, never localStorage', async () => {
    await signIn(adminToken);
    await page.getByRole('heading', { level: 1, name: 'Tenants', exact: true }).waitFor();
    const storage = await page.evaluate(() => ({
      local: window.localStorage.length,
      session: Object.values(window.sessionStorage),
    }));
    expect(storage.local).toBe(0);
    expect(storage.session).toEqual([adminToken]);
    for (const name of ['Tenants', 'Jobs', 'Usage', 'Prices', 'Audit log']) {
      await page.getByRole('link', { name, exact: true }).waitFor();
    }
  });

  it('pages through 1,000 tenants 25 at a time', async () => {
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(25);
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByText('Page 2', { exact: true }).waitFor();
    await expect.poll(() => rows.count()).toBe(25);
    expect(await capture(page, '02-tenants')).toEqual([]);
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    await page.getByText('Page 1', { exact: true }).waitFor();
  });

  let tenantId = '';
  it('creates a tenant from "New tenant" and opens its page at $0.00', async () => {
    await page.getByRole('button', { name: 'New tenant', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('Console Co');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Console Co', exact: true }).waitFor();
    tenantId = /\/console\/tenants\/(ten_[A-Za-z0-9_-]+)$/.exec(page.url())?.[1] ?? '';
    expect(tenantId).toMatch(/^ten_/);
    await page.getByText('Available', { exact: true }).waitFor();
    expect(await page.getByTestId('available').textContent()).toBe('$0.00');
    const created = await h.admin.admin.tenants.get.query({ tenantId });
    expect(created).toMatchObject({ name: 'Console Co', status: 'active', availableMicroCents: 0 });
  });

  it('tops up $12.50 once: the button is disabled in flight, a second submit credits nothing', async () => {
    await page.getByRole('button', { name: 'Top up', exact: true }).click();
    await page.getByLabel('Amount (USD)', { exact: true }).fill('12.50');
    await page.getByLabel('Reference', { exact: true }).fill('INV-E2E-1');
    // Hold the top-up request in the browser to see the form while it is in flight.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let topUpRequests = 0;
    await page.route(/\/trpc\/[^?]*admin\.credits\.topUp/, async (route) => {
      topUpRequests += 1;
      await held;
      await route.continue();
    });
    const confirm = page.getByRole('button', { name: 'Confirm top-up', exact: true });
    await confirm.click();
    await expect.poll(() => confirm.isDisabled()).toBe(true);
    await page.getByLabel('Reference', { exact: true }).press('Enter'); // a second submit, from the keyboard
    release();
    await expect.poll(() => page.getByTestId('available').textContent()).toBe('$12.50');
    expect(topUpRequests).toBe(1);
    await page.unrouteAll();

    // The same form submitted again after the answer: replayed by the gateway, still $12.50.
    await confirm.click();
    await page.getByText('Already credited under this reference', { exact: false }).waitFor();
    expect(await page.getByTestId('available').textContent()).toBe('$12.50');
    const after = await h.admin.admin.tenants.get.query({ tenantId });
    expect(after.availableMicroCents).toBe(12_500_000);
    const audit = await h.admin.admin.audit.list.query({
      action: 'credits.top_up',
      targetId: tenantId,
      limit: 10,
    });
    expect(audit.items).toHaveLength(1);
    expect(await capture(page, '03-tenant-top-up')).toEqual([]);
    await h.expectReconciled();
  });

  it('suspends the tenant', async () => {
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Suspend', exact: true }).click();
    await page.getByRole('button', { name: 'Reactivate', exact: true }).waitFor();
    expect((await h.admin.admin.tenants.get.query({ tenantId })).status).toBe('suspended');
    expect(await capture(page, '04-tenant-suspended')).toEqual([]);
  });

  it('lists jobs by status, and resolves the one whose outcome is unknown', async () => {
    await go('Jobs', 'Jobs');
    await page.getByLabel('Tenant id', { exact: true }).fill(jobsTenantId);
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    expect(await capture(page, '05-jobs')).toEqual([]);
    await page.getByLabel('Status', { exact: true }).selectOption('cancelled');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel('Status', { exact: true }).selectOption('unknown');
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().getByLabel('Decision', { exact: true }).selectOption('refund');
    await rows.first().getByLabel('Reason', { exact: true }).fill('answer lost; never started');
    await rows.first().getByRole('button', { name: 'Resolve', exact: true }).click();
    await page.getByText('No job matches these filters.').waitFor();
    const resolved = await h.admin.admin.jobs.list.query({ tenantId: jobsTenantId, status: 'rejected' });
    expect(resolved.items).toHaveLength(1);
  });

  it('shows the audit log with the console’s actions', async () => {
    await go('Audit log', 'Audit log');
    await page.getByLabel('Target id', { exact: true }).fill(tenantId);
    const actions = page.locator('table tbody tr td:nth-child(3)');
    await expect
      .poll(() => actions.allTextContents())
      .toEqual(['tenant.suspend', 'credits.top_up', 'tenant.create']);
    expect(await capture(page, '06-audit')).toEqual([]);
  });

  it('shows prices', async () => {
    await go('Prices', 'Prices');
    await page.getByText('No price overrides', { exact: false }).waitFor();
    expect(await capture(page, '07-prices')).toEqual([]);
  });

  it('draws the usage chart with data, the exact table behind it, and downloads the CSV', async () => {
    await go('Usage', 'Usage');
    await page.getByRole('img', { name: /^Usage chart/ }).waitFor();
    const report = await h.admin.finance.usage.query({
      from: `${usageDay}T00:00:00Z`,
      to: new Date(Date.parse(`${usageDay}T00:00:00Z`) + 86_400_000).toISOString(),
      groupBy: ['day'],
    });
    const row = report.rows[0];
    if (!row) throw new Error(`no usage on ${usageDay}`);
    // Three jobs charged at submit with a 25% markup (one refunded by its cancel); the lost-answer job
    // was never captured.
    expect(row.chargedMicroCents).toBe(3 * ((CHEAP_PRICE * 125) / 100));
    const dayRow = page.getByRole('row', { name: new RegExp(`^${usageDay}`) });
    await dayRow.waitFor();
    const cells = await dayRow.locator('td').allTextContents();
    expect(cells).toEqual([
      String(row.jobs),
      usdText(row.chargedMicroCentsExact),
      usdText(row.refundedMicroCentsExact),
      usdText(row.netMicroCentsExact),
      usdText(row.upstreamCostMicroCentsExact),
      usdText(row.marginMicroCentsExact),
    ]);
    expect(row.refundedMicroCents).toBeGreaterThan(0);
    expect(await capture(page, '08-usage')).toEqual([]);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^usage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const [header, ...lines] = csv.trim().split('\r\n');
    expect(header).toContain('charged_usd');
    expect(lines.some((l) => l.includes(jobsTenantId) && l.includes(CHEAP_MODEL))).toBe(true);

    // Top tenants by name; and test mode's book is its own: nothing was spent in it.
    const { name } = await h.admin.admin.tenants.get.query({ tenantId: jobsTenantId });
    await page.getByRole('cell', { name, exact: true }).waitFor();
    await page.getByLabel('Book', { exact: true }).selectOption('test');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByText(/^No usage between/).waitFor();
  });

  it('signs out: the credential is forgotten', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByLabel('API key or token', { exact: true }).waitFor();
    expect(await page.evaluate(() => [window.sessionStorage.length, window.localStorage.length])).toEqual([
      0, 0,
    ]);
    await page.reload();
    await page.getByLabel('API key or token', { exact: true }).waitFor();
  });

  it('finance signs in read-only: usage, balances and reconcile, no admin page or action', async () => {
    await signIn(financeToken);
    await page.getByRole('heading', { level: 1, name: 'Usage', exact: true }).waitFor();
    await page.getByRole('img', { name: /^Usage chart/ }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Usage', 'Balances', 'Reconcile']);

    await go('Balances', 'Balances');
    await page.getByText('Page 1 of 21', { exact: true }).waitFor();
    expect(await capture(page, '09-finance-balances')).toEqual([]);
    await go('Reconcile', 'Reconcile');
    await page.getByText('Reconciled: balances equal the ledger', { exact: false }).waitFor();
    expect(await capture(page, '10-finance-reconcile')).toEqual([]);

    await page.goto(`${h.url}/console/tenants/${tenantId}`);
    await page.getByText('No page at /tenants', { exact: false }).waitFor();
    for (const name of ['Top up', 'New tenant', 'Suspend', 'Confirm top-up', 'Create', 'Resolve']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  });

  it('signs in with an admin operator key (tg_op_…); what it does is audited under the key', async () => {
    const operator = await h.admin.admin.operators.create.mutate({ name: 'e2e-operator', role: 'admin' });
    await signIn(operator.key);
    await page.getByRole('heading', { level: 1, name: 'Tenants', exact: true }).waitFor();
    await go('Operators', 'Operators');
    await page.getByRole('cell', { name: 'e2e-operator', exact: true }).waitFor();
    expect(await capture(page, '11-operators')).toEqual([]);
    await page.goto(`${h.url}/console/tenants/${tenantId}`);
    await page.getByRole('button', { name: 'Reactivate', exact: true }).click();
    await page.getByRole('button', { name: 'Suspend', exact: true }).waitFor();
    const audit = await h.admin.admin.audit.list.query({ action: 'tenant.reactivate', targetId: tenantId });
    expect(audit.items.map((a) => a.actor)).toEqual([operator.id]);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByLabel('API key or token', { exact: true }).waitFor();
  });

  it('kept to its Content-Security-Policy: no refused script, style or request, no page error', () => {
    // The only failed loads are the gateway's answers the console expects: 401 for the bad credential,
    // 403 for the admin read that tells a finance credential from an admin one (session.ts).
    const expected = /Failed to load resource: the server responded with a status of 40[13]/;
    expect(b.problems.filter((p) => !expected.test(p))).toEqual([]);
  });
});
