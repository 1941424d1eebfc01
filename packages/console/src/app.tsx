import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, type ReactNode, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { AuditPage } from './pages/audit.tsx';
import { BalancesPage } from './pages/balances.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { OperatorsPage } from './pages/keys.tsx';
import { PricesPage } from './pages/prices.tsx';
import { ReconcilePage } from './pages/reconcile.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { TenantPage } from './pages/tenant.tsx';
import { TenantsPage } from './pages/tenants.tsx';
import { Link, navigate, useRoute } from './router.tsx';
import { forgetCredential, identify, loadCredential, type OperatorRole, saveCredential } from './session.ts';
import { createConsoleClient, createQueryClient, TRPCProvider } from './trpc.ts';
import { ErrorMessage } from './ui.tsx';

// The usage page carries the charting library: loaded on first visit, outside the initial bundle.
const UsagePage = lazy(() => import('./pages/usage.tsx').then((m) => ({ default: m.UsagePage })));

type Session = { credential: string; role: OperatorRole };

export type AppProps = {
  /** Where /trpc and /reports are (default: this origin). */
  apiBase?: string;
};

/**
 * The console: sign-in until a credential is accepted, then the pages its role may use. The session
 * (credential + role) lives in this component's state and the tab's sessionStorage only.
 */
export function App(props: AppProps) {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => loadCredential() !== null);
  const apiBase = props.apiBase ?? '';
  const makeClient = useCallback(
    (credential: string) => createConsoleClient({ credential, url: `${apiBase}/trpc` }),
    [apiBase],
  );

  // A reload keeps the tab signed in: the stored credential is checked with the gateway again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, on load
  useEffect(() => {
    const stored = loadCredential();
    if (stored === null) return;
    void identify(makeClient(stored)).then((r) => {
      if (r.ok) setSession({ credential: stored, role: r.role });
      else forgetCredential();
      setRestoring(false);
    });
  }, []);

  const signIn = async (credential: string) => {
    const r = await identify(makeClient(credential));
    if (r.ok) {
      saveCredential(credential);
      setSession({ credential, role: r.role });
      navigate(r.role === 'admin' ? '/tenants' : '/usage', { replace: true });
    }
    return r;
  };
  const signOut = () => {
    forgetCredential();
    setSession(null);
    navigate('/', { replace: true });
  };

  if (restoring && session === null) {
    return (
      <p role="status" className="muted boot">
        Checking your session…
      </p>
    );
  }
  if (session === null) return <SignInPage onSignIn={signIn} />;
  return (
    <SignedIn
      key={session.credential}
      session={session}
      onSignOut={signOut}
      makeClient={makeClient}
      apiBase={apiBase}
    />
  );
}

const ADMIN_NAV = [
  ['/tenants', 'Tenants'],
  ['/jobs', 'Jobs'],
  ['/usage', 'Usage'],
  ['/prices', 'Prices'],
  ['/audit', 'Audit log'],
  ['/operators', 'Operators'],
  ['/balances', 'Balances'],
  ['/reconcile', 'Reconcile'],
] as const;
const FINANCE_NAV = [
  ['/usage', 'Usage'],
  ['/balances', 'Balances'],
  ['/reconcile', 'Reconcile'],
] as const;

function SignedIn(props: {
  session: Session;
  onSignOut: () => void;
  makeClient: (credential: string) => ReturnType<typeof createConsoleClient>;
  apiBase: string;
}) {
  const { session } = props;
  // One client and one cache per credential: signing out drops both (nothing cached leaks to the next operator).
  const trpcClient = useMemo(
    () => props.makeClient(session.credential),
    [props.makeClient, session.credential],
  );
  const queryClient = useMemo(() => createQueryClient(), []);
  const { path } = useRoute();
  const nav = session.role === 'admin' ? ADMIN_NAV : FINANCE_NAV;
  const section = `/${path.split('/')[1] ?? ''}`;

  useEffect(() => {
    if (path === '/') navigate(nav[0][0], { replace: true });
  }, [path, nav]);

  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <span className="brand">tollgate console</span>
          <nav aria-label="Main">
            <ul>
              {nav.map(([to, label]) => (
                <li key={to}>
                  <Link to={to} current={section === to}>
                    {label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <span className="who">
            Signed in as <strong>{session.role}</strong>
          </span>
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </header>
        <main id="main">
          <Suspense
            fallback={
              <p role="status" className="muted">
                Loading…
              </p>
            }
          >
            <Page path={path} role={session.role} credential={session.credential} apiBase={props.apiBase} />
          </Suspense>
        </main>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function Page(props: { path: string; role: OperatorRole; credential: string; apiBase: string }): ReactNode {
  const { path, role } = props;
  const admin = role === 'admin';
  const tenant = /^\/tenants\/(ten_[A-Za-z0-9_-]+)$/.exec(path);
  if (admin && path === '/tenants') return <TenantsPage />;
  if (admin && tenant?.[1]) return <TenantPage tenantId={tenant[1]} />;
  if (admin && path === '/jobs') return <JobsPage />;
  if (admin && path === '/prices') return <PricesPage />;
  if (admin && path === '/audit') return <AuditPage />;
  if (admin && path === '/operators') return <OperatorsPage />;
  if (path === '/usage') {
    return <UsagePage credential={props.credential} apiBase={props.apiBase} />;
  }
  if (path === '/balances') return <BalancesPage canOpenTenants={admin} />;
  if (path === '/reconcile') return <ReconcilePage />;
  if (path === '/') return null;
  return (
    <ErrorMessage
      error={
        new Error(admin ? `No page at ${path}.` : `No page at ${path} for the finance role (read-only).`)
      }
    />
  );
}
