import { type UseQueryResult, useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { usd } from '../money.ts';
import { useTRPC } from '../trpc.ts';
import { AmountCard, ErrorMessage, PageTitle, QueryView, TableHead } from '../ui.tsx';
import { type DayPoint, UsageChart } from './usage-chart.tsx';

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last 30 UTC days, today included: [today − 29, tomorrow). */
function defaultPeriod(): { from: string; to: string } {
  const today = Date.parse(`${isoDay(Date.now())}T00:00:00Z`);
  return { from: isoDay(today - 29 * DAY_MS), to: isoDay(today + DAY_MS) };
}

const TOP = 10;
/** `finance.usage`'s largest page. */
const MAX_ROWS = 10_000;

type Period = { from: string; to: string; mode: 'live' | 'test' };

/** One point per UTC day of the period, zero where nothing happened (a gap is a fact, not missing data). */
function everyDay(
  period: { from: string; to: string },
  rows: {
    day: string | null;
    chargedMicroCentsExact: string;
    refundedMicroCentsExact: string;
    upstreamCostMicroCentsExact: string;
    marginMicroCentsExact: string;
  }[],
) {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  // The chart draws floats (exact below 2^53 micro-cents, about $9 billion a day); the tables and
  // cards print the exact decimal strings.
  const points: DayPoint[] = [];
  const end = Date.parse(`${period.to}T00:00:00Z`);
  // At most 400 days drawn: a longer period still has its full table (and CSV).
  for (let t = Date.parse(`${period.from}T00:00:00Z`); t < end && points.length < 400; t += DAY_MS) {
    const day = isoDay(t);
    const r = byDay.get(day);
    points.push({
      day,
      chargedMicroCents: Number(r?.chargedMicroCentsExact ?? 0),
      refundedMicroCents: Number(r?.refundedMicroCentsExact ?? 0),
      upstreamCostMicroCents: Number(r?.upstreamCostMicroCentsExact ?? 0),
      marginMicroCents: Number(r?.marginMicroCentsExact ?? 0),
    });
  }
  return points;
}

type Totals = {
  jobs: number;
  chargedMicroCentsExact: string;
  refundedMicroCentsExact: string;
  netMicroCentsExact: string;
  upstreamCostMicroCentsExact: string;
  marginMicroCentsExact: string;
};

export function UsagePage(props: { credential: string; apiBase: string }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<Period>(() => ({ ...defaultPeriod(), mode: 'live' }));
  const [period, setPeriod] = useState(draft);
  // One page of the largest size: every day of any period drawn (400 at most), and the top tenants
  // and models ranked over up to MAX_ROWS of them (beyond that the page says so; the CSV has all).
  const range = {
    from: `${period.from}T00:00:00Z`,
    to: `${period.to}T00:00:00Z`,
    mode: period.mode,
    limit: MAX_ROWS,
  };
  const byDay = useQuery(trpc.finance.usage.queryOptions({ ...range, groupBy: ['day'] }));
  const byTenant = useQuery(trpc.finance.usage.queryOptions({ ...range, groupBy: ['tenant'] }));
  const byModel = useQuery(trpc.finance.usage.queryOptions({ ...range, groupBy: ['model'] }));
  const ids = { from: useId(), to: useId(), mode: useId(), h: useId() };

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPeriod(draft);
  };

  return (
    <>
      <PageTitle>Usage</PageTitle>
      <form className="toolbar" onSubmit={apply} aria-label="Period">
        <div className="field inline">
          <label htmlFor={ids.from}>From (UTC day)</label>
          <input
            id={ids.from}
            type="date"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </div>
        <div className="field inline">
          <label htmlFor={ids.to}>To (exclusive)</label>
          <input
            id={ids.to}
            type="date"
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          />
        </div>
        <div className="field inline">
          <label htmlFor={ids.mode}>Book</label>
          <select
            id={ids.mode}
            value={draft.mode}
            onChange={(e) => setDraft({ ...draft, mode: e.target.value as 'live' | 'test' })}
          >
            <option value="live">live money</option>
            <option value="test">test mode</option>
          </select>
        </div>
        <button type="submit">Show</button>
        <CsvDownload {...props} period={period} />
      </form>
      <QueryView
        query={byDay}
        isEmpty={(d) => d.rows.length === 0}
        empty={`No usage between ${period.from} and ${period.to} (UTC).`}
      >
        {(data) => {
          const points = everyDay(period, data.rows);
          return (
            <>
              <UsageChart
                points={points}
                label={`Usage chart: revenue, refunds, upstream cost and margin per day, ${period.from} to ${period.to} (UTC)`}
              />
              <TotalsCards totals={data.totals} />
              <section aria-labelledby={ids.h}>
                <h2 id={ids.h}>Per day</h2>
                <table>
                  <caption className="sr-only">Usage per UTC day</caption>
                  <TableHead
                    columns={[
                      'Day',
                      { label: 'Jobs', num: true },
                      { label: 'Revenue', num: true },
                      { label: 'Refunds', num: true },
                      { label: 'Net', num: true },
                      { label: 'Upstream cost', num: true },
                      { label: 'Margin', num: true },
                    ]}
                  />
                  <tbody>
                    {data.rows.map((r) => (
                      <tr key={r.day}>
                        <th scope="row">{r.day}</th>
                        <td className="num">{r.jobs}</td>
                        <td className="num">{usd(r.chargedMicroCentsExact)}</td>
                        <td className="num">{usd(r.refundedMicroCentsExact)}</td>
                        <td className="num">{usd(r.netMicroCentsExact)}</td>
                        <td className="num">{usd(r.upstreamCostMicroCentsExact)}</td>
                        <td className="num">{usd(r.marginMicroCentsExact)}</td>
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th scope="row">Total</th>
                      <td className="num">{data.totals.jobs}</td>
                      <td className="num">{usd(data.totals.chargedMicroCentsExact)}</td>
                      <td className="num">{usd(data.totals.refundedMicroCentsExact)}</td>
                      <td className="num">{usd(data.totals.netMicroCentsExact)}</td>
                      <td className="num">{usd(data.totals.upstreamCostMicroCentsExact)}</td>
                      <td className="num">{usd(data.totals.marginMicroCentsExact)}</td>
                    </tr>
                  </tfoot>
                </table>
              </section>
            </>
          );
        }}
      </QueryView>
      <div className="two">
        <TopTable
          title="Top tenants"
          query={byTenant}
          keyOf={(r) => r.tenantId}
          labelOf={(r) => r.tenantName ?? r.tenantId ?? '—'}
        />
        <TopTable title="Top models" query={byModel} keyOf={(r) => r.model} labelOf={(r) => r.model ?? '—'} />
      </div>
    </>
  );
}

function TotalsCards({ totals }: { totals: Totals }) {
  return (
    <section className="cards" aria-label="Totals for the period">
      <AmountCard label="Revenue" amount={usd(totals.chargedMicroCentsExact)} />
      <AmountCard label="Refunds" amount={usd(totals.refundedMicroCentsExact)} />
      <AmountCard label="Upstream cost" amount={usd(totals.upstreamCostMicroCentsExact)} />
      <AmountCard label="Margin" amount={usd(totals.marginMicroCentsExact)} />
    </section>
  );
}

type UsageRow = {
  tenantId: string | null;
  tenantName: string | null;
  model: string | null;
  jobs: number;
  netMicroCentsExact: string;
  marginMicroCentsExact: string;
};

function TopTable(props: {
  title: string;
  query: UseQueryResult<{ rows: UsageRow[]; nextCursor: string | null }, unknown>;
  keyOf: (r: UsageRow) => string | null;
  labelOf: (r: UsageRow) => string;
}) {
  const headingId = useId();
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      <QueryView query={props.query} isEmpty={(d) => d.rows.length === 0} empty="No usage in this period.">
        {(data) => {
          // Exact ordering on the integers (bigint compare), largest net revenue first.
          const top = [...data.rows]
            .sort((a, b) => {
              const d = BigInt(b.netMicroCentsExact) - BigInt(a.netMicroCentsExact);
              return d > 0n ? 1 : d < 0n ? -1 : 0;
            })
            .slice(0, TOP);
          return (
            <>
              {data.nextCursor !== null ? (
                <p className="muted small">
                  Ranked over the first {MAX_ROWS.toLocaleString('en-US')} of more: the CSV has them all.
                </p>
              ) : null}
              <table>
                <TableHead
                  columns={[
                    props.title === 'Top tenants' ? 'Tenant' : 'Model',
                    { label: 'Jobs', num: true },
                    { label: 'Net revenue', num: true },
                    { label: 'Margin', num: true },
                  ]}
                />
                <tbody>
                  {top.map((r) => (
                    <tr key={props.keyOf(r) ?? '—'}>
                      <td>{props.labelOf(r)}</td>
                      <td className="num">{r.jobs}</td>
                      <td className="num">{usd(r.netMicroCentsExact)}</td>
                      <td className="num">{usd(r.marginMicroCentsExact)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </QueryView>
    </section>
  );
}

/**
 * The CSV routes need the Bearer credential, which a plain link cannot send: the file is fetched
 * with it and handed to the browser as a download (`/reports/*` are HTTP routes, not procedures).
 */
function CsvDownload(props: { credential: string; apiBase: string; period: Period }) {
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const download = async () => {
    setState({ busy: true, error: null });
    try {
      const query = new URLSearchParams({ ...props.period, groupBy: 'tenant,model,day' });
      const res = await fetch(`${props.apiBase}/reports/usage.csv?${query}`, {
        headers: { authorization: `Bearer ${props.credential}` },
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { message?: string; requestId?: string } | null;
        throw new Error(
          `${body?.message ?? `HTTP ${res.status}`}${body?.requestId ? ` (request ${body.requestId})` : ''}`,
        );
      }
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `usage-${props.period.mode === 'test' ? 'test-' : ''}${props.period.from}-${props.period.to}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return (
    <>
      <button type="button" onClick={() => void download()} disabled={state.busy} aria-busy={state.busy}>
        Download CSV
      </button>
      {state.error ? <ErrorMessage error={state.error} /> : null}
    </>
  );
}
