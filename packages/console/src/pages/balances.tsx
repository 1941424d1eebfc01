import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { usd } from '../money.ts';
import { Link } from '../router.tsx';
import { useTRPC } from '../trpc.ts';
import { AmountCard, PageTitle, QueryView, StatusBadge, TableHead } from '../ui.tsx';

const PAGE_SIZE = 50;

/** Every tenant's balance and the platform accounts (`finance.balances`, one snapshot); read-only. */
export function BalancesPage({ canOpenTenants }: { canOpenTenants: boolean }) {
  const trpc = useTRPC();
  const query = useQuery(trpc.finance.balances.queryOptions());
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(0);
  const filterId = useId();
  return (
    <>
      <PageTitle>Balances</PageTitle>
      <QueryView query={query}>
        {(data) => {
          const needle = filter.trim().toLowerCase();
          const rows = needle
            ? data.tenants.filter((t) => t.name.toLowerCase().includes(needle) || t.tenantId.includes(needle))
            : data.tenants;
          const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
          const current = Math.min(page, pages - 1);
          const shown = rows.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
          return (
            <>
              <section className="cards" aria-label="Totals">
                <AmountCard label="Tenants' available" amount={usd(data.totals.availableMicroCentsExact)} />
                <AmountCard label="Tenants' held" amount={usd(data.totals.heldMicroCentsExact)} />
                <AmountCard label="Platform revenue" amount={usd(data.platform.revenueMicroCentsExact)} />
                <AmountCard
                  label="Funding received"
                  amount={usd(-BigInt(data.platform.fundingMicroCentsExact))}
                />
                <div className="card">
                  <span className="label">Double entry</span>
                  <span className={data.balanced ? 'ok' : 'error'}>
                    {data.balanced ? 'balanced' : 'NOT balanced'}
                  </span>
                </div>
              </section>
              <div className="toolbar">
                <div className="field inline">
                  <label htmlFor={filterId}>Filter by name or id</label>
                  <input
                    id={filterId}
                    type="search"
                    value={filter}
                    onChange={(e) => {
                      setFilter(e.target.value);
                      setPage(0);
                    }}
                  />
                </div>
              </div>
              {shown.length === 0 ? (
                <p role="status" className="empty">
                  {needle ? 'No tenant matches.' : 'No tenants yet.'}
                </p>
              ) : (
                <table>
                  <caption className="sr-only">Tenant balances</caption>
                  <TableHead
                    columns={[
                      'Tenant',
                      'Status',
                      { label: 'Available', num: true },
                      { label: 'Held', num: true },
                    ]}
                  />
                  <tbody>
                    {shown.map((t) => (
                      <tr key={t.tenantId}>
                        <td>
                          {canOpenTenants ? <Link to={`/tenants/${t.tenantId}`}>{t.name}</Link> : t.name}{' '}
                          <code className="muted">{t.tenantId}</code>
                        </td>
                        <td>
                          <StatusBadge status={t.status} />
                        </td>
                        <td className="num">{usd(t.availableMicroCents)}</td>
                        <td className="num">{usd(t.heldMicroCents)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <nav className="pager" aria-label="Balances pages">
                <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>
                  Previous
                </button>
                <span aria-live="polite">
                  Page {current + 1} of {pages}
                </span>
                <button type="button" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
                  Next
                </button>
              </nav>
            </>
          );
        }}
      </QueryView>
    </>
  );
}
