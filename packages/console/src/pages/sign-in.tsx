import { type FormEvent, useId, useState } from 'react';
import type { SignInResult } from '../session.ts';

/** Sign-in with an operator key (`tg_op_…`) or an admin/finance JWT, both sent as a Bearer credential. */
export function SignInPage({ onSignIn }: { onSignIn: (credential: string) => Promise<SignInResult> }) {
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const hintId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = credential.trim();
    if (value === '') {
      setError('Paste an operator key (tg_op_…) or an admin or finance token.');
      return;
    }
    setBusy(true);
    setError(null);
    const r = await onSignIn(value);
    setBusy(false);
    if (!r.ok) setError(r.message);
  };

  return (
    <main id="main" className="sign-in">
      <h1>tollgate console</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor={fieldId}>API key or token</label>
        <input
          id={fieldId}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={credential}
          onChange={(e) => setCredential(e.target.value)}
          aria-describedby={hintId}
          aria-invalid={error !== null}
          required
        />
        <p id={hintId} className="muted small">
          An operator key (<code>tg_op_…</code>) or an admin or finance JWT. It is kept in this tab only and
          forgotten when you sign out or close the tab.
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
