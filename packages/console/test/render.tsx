// Renders the whole console (as the browser does) against a real gateway from the api test harness.
import { render } from '@testing-library/react';
import { App } from '../src/app.tsx';

/** The console at `path` (below /console), signed in with `credential` when given (as after a reload). */
export function renderConsole(apiBase: string, opts: { path?: string; credential?: string } = {}) {
  window.sessionStorage.clear();
  window.localStorage.clear();
  if (opts.credential !== undefined)
    window.sessionStorage.setItem('tollgate.console.credential', opts.credential);
  window.history.replaceState(null, '', `/console${opts.path ?? '/'}`);
  return render(<App apiBase={apiBase} />);
}
