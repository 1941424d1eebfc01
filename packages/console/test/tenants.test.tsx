import './dom.ts';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../../api/test/harness.ts';
import { renderConsole } from './render.tsx';

let h: Harness;
let admin = '';
beforeAll(async () => {
  h = await startHarness();
  admin = await h.token({ role: 'admin', sub: 'console-test' });
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => cleanup());

const available = () => screen.getByTestId('available').textContent;

describe('tenants', () => {
  it('shows the empty state, then creates a tenant from "New tenant" and opens it', async () => {
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: '/tenants' });
    expect(await screen.findByText(/No tenants yet: create the first one/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'New tenant' }));
    await user.type(screen.getByLabelText('Name'), 'Acme Video');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    await screen.findByRole('heading', { level: 1, name: 'Acme Video' });
    expect(window.location.pathname).toMatch(/^\/console\/tenants\/ten_/);
    expect(screen.getByText('Available')).toBeTruthy();
    expect(available()).toBe('$0.00');
  });

  it('searches by name and pages 25 at a time', async () => {
    for (let i = 0; i < 30; i++) await h.admin.admin.tenants.create.mutate({ name: `Paged ${i}` });
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: '/tenants' });
    await user.type(await screen.findByLabelText('Search by name'), 'paged');
    await screen.findByText('Paged 29');
    const rows = () => within(screen.getByRole('table')).getAllByRole('row').length - 1;
    await waitFor(() => expect(rows()).toBe(25));
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByText('Page 2');
    await waitFor(() => expect(rows()).toBe(5));
    expect(screen.getByRole('button', { name: 'Next' }).hasAttribute('disabled')).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Previous' }));
    await screen.findByText('Paged 29');
    await user.type(screen.getByLabelText('Search by name'), ' 1');
    await screen.findByText('Page 1');
    // "Paged 1" and "Paged 10" … "Paged 19": 11 names contain "paged 1" (case-insensitive).
    await waitFor(() => expect(rows()).toBe(11));
    await user.clear(screen.getByLabelText('Search by name'));
    await user.type(screen.getByLabelText('Search by name'), 'no such tenant');
    expect(await screen.findByText('No tenant matches these filters.')).toBeTruthy();
  });

  it('tops up exactly once: the button is disabled in flight and a repeated reference credits nothing', async () => {
    const { tenantId } = await h.createTenant();
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: `/tenants/${tenantId}` });
    await screen.findByText('Available');
    await user.click(screen.getByRole('button', { name: 'Top up' }));
    await user.type(screen.getByLabelText('Amount (USD)'), '12.50');
    await user.clear(screen.getByLabelText('Reference'));
    await user.type(screen.getByLabelText('Reference'), 'INV-42');
    const confirm = screen.getByRole('button', { name: 'Confirm top-up' });
    await user.click(confirm);
    expect(confirm.hasAttribute('disabled')).toBe(true);
    await user.click(confirm); // a click on the disabled button does nothing
    await waitFor(() => expect(available()).toBe('$12.50'));
    await user.click(confirm); // the same form again, after the answer: a replay
    expect((await screen.findByText(/Already credited under this reference/)).textContent).toMatch(
      /\$12\.50/,
    );

    const t = await h.admin.admin.tenants.get.query({ tenantId });
    expect(t.availableMicroCents).toBe(12_500_000);
    const audit = await h.admin.admin.audit.list.query({ action: 'credits.top_up', targetId: tenantId });
    expect(audit.items).toHaveLength(1);
    await h.expectReconciled();
  });

  it('refuses an amount that is not exact USD before sending anything', async () => {
    const { tenantId } = await h.createTenant();
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: `/tenants/${tenantId}` });
    await screen.findByText('Available');
    await user.click(screen.getByRole('button', { name: 'Top up' }));
    for (const [typed, message] of [
      ['12.5.0', /plain amount in USD/],
      ['0.0000001', /At most 6 decimals/],
      ['-5', /must be positive/],
      ['0', /must not be zero/],
    ] as const) {
      await user.clear(screen.getByLabelText('Amount (USD)'));
      await user.type(screen.getByLabelText('Amount (USD)'), typed);
      await user.click(screen.getByRole('button', { name: 'Confirm top-up' }));
      expect((await screen.findByRole('alert')).textContent, typed).toMatch(message);
    }
    expect((await h.admin.admin.tenants.get.query({ tenantId })).availableMicroCents).toBe(0);
  });

  it('shows the gateway’s refusal: a reference reused with another amount is a conflict, nothing credited', async () => {
    const { tenantId } = await h.createTenant();
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: `/tenants/${tenantId}` });
    await screen.findByText('Available');
    await user.click(screen.getByRole('button', { name: 'Top up' }));
    await user.type(screen.getByLabelText('Amount (USD)'), '1');
    await user.clear(screen.getByLabelText('Reference'));
    await user.type(screen.getByLabelText('Reference'), 'INV-7');
    await user.click(screen.getByRole('button', { name: 'Confirm top-up' }));
    await waitFor(() => expect(available()).toBe('$1.00'));
    await user.clear(screen.getByLabelText('Amount (USD)'));
    await user.type(screen.getByLabelText('Amount (USD)'), '2');
    await user.click(screen.getByRole('button', { name: 'Confirm top-up' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/already used/);
    expect(alert.textContent).toMatch(/Request id: /);
    expect((await h.admin.admin.tenants.get.query({ tenantId })).availableMicroCents).toBe(1_000_000);
  });

  it('suspends and reactivates a tenant', async () => {
    const { tenantId } = await h.createTenant();
    const user = userEvent.setup();
    window.confirm = () => true;
    renderConsole(h.url, { credential: admin, path: `/tenants/${tenantId}` });
    await user.click(await screen.findByRole('button', { name: 'Suspend' }));
    await user.click(await screen.findByRole('button', { name: 'Reactivate' }));
    await screen.findByRole('button', { name: 'Suspend' });
    const audit = await h.admin.admin.audit.list.query({ targetId: tenantId });
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['tenant.suspend', 'tenant.reactivate']),
    );
  });
});
