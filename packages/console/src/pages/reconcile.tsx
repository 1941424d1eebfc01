import { useQuery } from '@tanstack/react-query';
import { usd } from '../money.ts';
import { useTRPC } from '../trpc.ts';
import { AmountCard, PageTitle, QueryView, TableHead } from '../ui.tsx';

/** `admin.reconcile()` (finance may call it): balances = ledger, holds resolved once, revenue = captures. */
export function ReconcilePage() {
  const trpc = useTRPC();
  const query = useQuery({ ...trpc.admin.reconcile.queryOptions(), staleTime: 0 });
  return (
    <>
      <PageTitle>Reconcile</PageTitle>
      <p>
        <button type="button" onClick={() => void query.refetch()} disabled={query.isFetching}>
          Run again
        </button>
      </p>
      <QueryView query={query}>
        {(r) => (
          <>
            <p role="status" className={r.ok ? 'ok big' : 'error big'}>
              {r.ok
                ? 'Reconciled: balances equal the ledger to the micro-cent.'
                : `${r.discrepancies.length} discrepanc${r.discrepancies.length === 1 ? 'y' : 'ies'} found.`}
            </p>
            <section className="cards" aria-label="All-time totals">
              <AmountCard label="Charged" amount={usd(r.totals.chargedMicroCentsExact)} />
              <AmountCard label="Refunded" amount={usd(r.totals.refundedMicroCentsExact)} />
              <AmountCard label="Upstream cost" amount={usd(r.totals.upstreamCostMicroCentsExact)} />
              <AmountCard label="Margin" amount={usd(r.totals.marginMicroCentsExact)} />
            </section>
            <FlagTable title="Discrepancies" rows={r.discrepancies} />
            <FlagTable title="Flags for review" rows={r.flags} />
          </>
        )}
      </QueryView>
    </>
  );
}

type Flag = { kind: string; tenantId: string | null; jobId: string | null; details: string };

function FlagTable({ title, rows }: { title: string; rows: Flag[] }) {
  if (rows.length === 0) return null;
  return (
    <section>
      <h2>{title}</h2>
      <table>
        <TableHead columns={['Kind', 'Tenant', 'Job', 'Details']} />
        <tbody>
          {rows.map((d, i) => (
            <tr key={`${d.kind}-${d.jobId ?? d.tenantId ?? i}`}>
              <td>
                <code>{d.kind}</code>
              </td>
              <td>{d.tenantId ?? '—'}</td>
              <td>{d.jobId ?? '—'}</td>
              <td>{d.details}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
