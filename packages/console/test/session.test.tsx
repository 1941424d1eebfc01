import './dom.ts';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../../api/test/harness.ts';
import { renderConsole } from './render.tsx';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => cleanup());

const STORED = 'tollgate.console.credential';

describe('sign-in and sign-out', () => {
  it('an admin token opens Tenants; the credential is kept in sessionStorage only; Sign out forgets it', async () => {
    const user = userEvent.setup();
    const token = await h.token({ role: 'admin', sub: 'console-test' });
    renderConsole(h.url);
    await user.type(screen.getByLabelText('API key or token'), token);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { level: 1, name: 'Tenants' });
    expect(window.sessionStorage.getItem(STORED)).toBe(token);
    expect(window.localStorage.length).toBe(0);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    for (const name of ['Tenants', 'Jobs', 'Usage', 'Prices', 'Audit log']) {
      expect(within(nav).getByRole('link', { name })).toBeTruthy();
    }
    expect(within(nav).getByRole('link', { name: 'Tenants' }).getAttribute('aria-current')).toBe('page');

    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByLabelText('API key or token')).toBeTruthy();
    expect(window.sessionStorage.getItem(STORED)).toBeNull();
    expect(screen.queryByRole('navigation', { name: 'Main' })).toBeNull();
  });

  it('a reload keeps the tab signed in (the stored credential is checked again)', async () => {
    renderConsole(h.url, {
      credential: await h.token({ role: 'admin', sub: 'console-test' }),
      path: '/jobs',
    });
    expect(await screen.findByRole('heading', { level: 1, name: 'Jobs' })).toBeTruthy();
  });

  it('a credential the gateway refuses is reported, and nothing is stored', async () => {
    const user = userEvent.setup();
    renderConsole(h.url);
    await user.type(screen.getByLabelText('API key or token'), 'tg_op_not_a_real_key');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/did not accept this key or token/);
    expect(window.sessionStorage.getItem(STORED)).toBeNull();
  });

  it('an expired stored credential is dropped on reload', async () => {
    const expired = await h.token({ role: 'admin', sub: 'console-test' }, { expiresInSeconds: -600 });
    renderConsole(h.url, { credential: expired });
    expect(await screen.findByLabelText('API key or token')).toBeTruthy();
    expect(window.sessionStorage.getItem(STORED)).toBeNull();
  });

  it('a tenant token cannot sign in to the console', async () => {
    const user = userEvent.setup();
    const tenant = await h.createTenant();
    renderConsole(h.url);
    await user.type(screen.getByLabelText('API key or token'), tenant.token);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/not an operator’s/);
    expect(window.sessionStorage.getItem(STORED)).toBeNull();
  });

  it('finance sees Usage, Balances and Reconcile only, and no admin page', async () => {
    renderConsole(h.url, {
      credential: await h.token({ role: 'finance', sub: 'finance-test' }),
      path: '/balances',
    });
    await screen.findByRole('heading', { level: 1, name: 'Balances' });
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Usage', 'Balances', 'Reconcile']);
    cleanup();
    renderConsole(h.url, {
      credential: await h.token({ role: 'finance', sub: 'finance-test' }),
      path: '/tenants',
    });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/finance role \(read-only\)/));
    expect(screen.queryByRole('button', { name: 'New tenant' })).toBeNull();
  });
});
