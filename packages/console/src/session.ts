import type { ConsoleClient } from './trpc.ts';
import { errorCode } from './trpc.ts';

/**
 * Where a signed-in credential lives: this tab's sessionStorage (survives a reload, gone when the tab
 * closes, never shared with other tabs) — never localStorage, which would keep an admin credential on
 * disk for any later user of the browser. "Sign out" removes it.
 */
const STORAGE_KEY = 'tollgate.console.credential';

export function loadCredential(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the credential lives in memory only
  }
}

export function saveCredential(credential: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, credential);
  } catch {
    // storage disabled: memory only (a reload signs out)
  }
}

export function forgetCredential(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

export type OperatorRole = 'admin' | 'finance';

export type SignInResult = { ok: true; role: OperatorRole } | { ok: false; message: string };

/**
 * Which operator a credential is, asked of the gateway (the only judge: an operator key `tg_op_…`
 * and a JWT are both Bearer credentials, and the console never decodes one). An admin-only read
 * answers for admins; a finance read for finance; anything else is refused here, before any page.
 */
export async function identify(client: ConsoleClient): Promise<SignInResult> {
  try {
    await client.admin.tenants.list.query({ limit: 1 });
    return { ok: true, role: 'admin' };
  } catch (err) {
    const refusal = refusalOf(err);
    if (refusal !== 'FORBIDDEN') return { ok: false, message: refusal };
  }
  try {
    // The cheapest finance read: one ledger line at most, over the last second.
    const to = new Date();
    await client.finance.ledger.query({
      from: new Date(to.getTime() - 1_000).toISOString(),
      to: to.toISOString(),
      limit: 1,
    });
    return { ok: true, role: 'finance' };
  } catch (err) {
    const refusal = refusalOf(err);
    return {
      ok: false,
      message:
        refusal === 'FORBIDDEN'
          ? 'This credential is not an operator’s (admin or finance). Tenant keys and tokens cannot sign in here.'
          : refusal,
    };
  }
}

function refusalOf(err: unknown): string {
  switch (errorCode(err)) {
    case 'FORBIDDEN':
      return 'FORBIDDEN';
    case 'UNAUTHORIZED':
      return 'The gateway did not accept this key or token (unknown, revoked or expired).';
    default:
      return `The gateway could not be reached or failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
