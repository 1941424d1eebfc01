import './dom.ts';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeClient, startHarness } from '../../api/test/harness.ts';
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

describe('keys', () => {
  it('creates a tenant API key (shown once), which works; revoking it refuses it', async () => {
    const { tenantId } = await h.createTenant();
    const user = userEvent.setup();
    window.confirm = () => true;
    renderConsole(h.url, { credential: admin, path: `/tenants/${tenantId}` });
    expect(await screen.findByText('No API keys yet.')).toBeTruthy();
    await user.type(screen.getByLabelText('Key name'), 'backend');
    await user.click(screen.getByRole('button', { name: 'Create key' }));
    const key = await waitFor(() => {
      const area = screen.getByLabelText('New key "backend"') as HTMLTextAreaElement;
      return area.value;
    });
    expect(key).toMatch(/^tg_live_[A-Za-z0-9]{32,}$/);
    const table = await screen.findByRole('table', { name: 'API keys, newest first' });
    expect(within(table).getByText(`${key.slice(0, 12)}…`)).toBeTruthy();
    expect(within(table).queryByText(key)).toBeNull();
    expect((await makeClient(h.url, key).account.get.query()).tenantId).toBe(tenantId);

    await user.click(within(table).getByRole('button', { name: 'Revoke backend' }));
    await waitFor(() => expect(within(table).getByText('revoked')).toBeTruthy());
    await expect(makeClient(h.url, key).account.get.query()).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
  });

  it('creates a finance operator key on Operators, and that key signs in to the read-only console', async () => {
    const user = userEvent.setup();
    renderConsole(h.url, { credential: admin, path: '/operators' });
    await screen.findByRole('heading', { level: 1, name: 'Operators' });
    await user.type(screen.getByLabelText('Key name'), 'finance-team');
    await user.click(screen.getByRole('button', { name: 'Create key' }));
    const key = await waitFor(
      () => (screen.getByLabelText('New finance key "finance-team"') as HTMLTextAreaElement).value,
    );
    expect(key).toMatch(/^tg_op_/);
    await user.click(screen.getByRole('button', { name: 'Sign out' }));

    await user.type(await screen.findByLabelText('API key or token'), key);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { level: 1, name: 'Usage' });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Usage', 'Balances', 'Reconcile']);
  });
});
