import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { usd } from '../money.ts';
import { Link } from '../router.tsx';
import { useTRPC } from '../trpc.ts';
import {
  ErrorMessage,
  Field,
  PagedQueryView,
  PageTitle,
  StatusBadge,
  TableHead,
  TextField,
  useCursorPages,
  utc,
} from '../ui.tsx';

/** product.md's job statuses, in lifecycle order. */
const STATUSES = [
  'submitting',
  'pending',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'rejected',
  'unknown',
] as const;
type Status = (typeof STATUSES)[number];

const PAGE_SIZE = 25;

export function JobsPage() {
  const trpc = useTRPC();
  const [status, setStatus] = useState<Status | ''>('');
  const [needsReview, setNeedsReview] = useState(false);
  const [stuck, setStuck] = useState(false);
  const [tenantId, setTenantId] = useState('');
  const tenant = /^ten_[A-Za-z0-9_-]{1,64}$/.test(tenantId.trim()) ? tenantId.trim() : '';
  const pages = useCursorPages(`${status}|${needsReview}|${stuck}|${tenant}`);
  const query = useQuery(
    trpc.admin.jobs.list.queryOptions(
      {
        limit: PAGE_SIZE,
        ...(status === '' ? {} : { status }),
        ...(needsReview ? { needsReview: true } : {}),
        ...(stuck ? { stuck: true } : {}),
        ...(tenant === '' ? {} : { tenantId: tenant }),
        ...pages.input,
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );
  const ids = { review: useId(), stuck: useId() };

  return (
    <>
      <PageTitle>Jobs</PageTitle>
      <div className="toolbar">
        <Field label="Status" inline>
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          )}
        </Field>
        <TextField label="Tenant id" inline value={tenantId} placeholder="ten_…" onValue={setTenantId} />
        <div className="check">
          <input
            id={ids.review}
            type="checkbox"
            checked={needsReview}
            onChange={(e) => setNeedsReview(e.target.checked)}
          />
          <label htmlFor={ids.review}>Needs review</label>
        </div>
        <div className="check">
          <input
            id={ids.stuck}
            type="checkbox"
            checked={stuck}
            onChange={(e) => setStuck(e.target.checked)}
          />
          <label htmlFor={ids.stuck}>Stuck (unknown or overdue)</label>
        </div>
      </div>
      <PagedQueryView query={query} pages={pages} label="Jobs" empty="No job matches these filters.">
        {(data) => (
          <table>
            <caption className="sr-only">Jobs, newest first</caption>
            <TableHead
              columns={[
                'Job',
                'Tenant',
                'Model',
                'Status',
                { label: 'Charged', num: true },
                { label: 'Refunded', num: true },
                { label: 'Upstream cost', num: true },
                'Created',
                'Review',
              ]}
            />
            <tbody>
              {data.items.map((j) => (
                <tr key={j.id}>
                  <td>
                    <code>{j.id}</code>
                  </td>
                  <td>
                    <Link to={`/tenants/${j.tenantId}`}>{j.tenantId}</Link>
                  </td>
                  <td className="nowrap">{j.model}</td>
                  <td>
                    <StatusBadge status={j.status} />
                    {j.overdue ? <span className="badge badge-failed">overdue</span> : null}
                  </td>
                  <td className="num">{usd(j.costMicroCents)}</td>
                  <td className="num">{usd(j.refundedMicroCents)}</td>
                  <td className="num">
                    {j.upstreamCostMicroCents === null ? '—' : usd(j.upstreamCostMicroCents)}
                  </td>
                  <td className="nowrap">{utc(j.createdAt)}</td>
                  <td>
                    {j.needsReview || j.status === 'unknown' || j.overdue ? (
                      <ResolveForm jobId={j.id} />
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedQueryView>
    </>
  );
}

/** Settles a job by hand: `charge` keeps the money, `refund` gives it back; once (the ledger refuses a second time). */
function ResolveForm({ jobId }: { jobId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [decision, setDecision] = useState<'charge' | 'refund'>('refund');
  const [reason, setReason] = useState('');
  const resolve = useMutation(
    trpc.admin.jobs.resolve.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.admin.jobs.list.queryKey() }),
    }),
  );
  const ids = { decision: useId(), reason: useId() };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (resolve.isPending || reason.trim() === '') return;
    resolve.mutate({ jobId, decision, reason: reason.trim() });
  };
  return (
    <form className="resolve" onSubmit={submit} aria-label={`Resolve ${jobId}`}>
      <label htmlFor={ids.decision} className="sr-only">
        Decision
      </label>
      <select
        id={ids.decision}
        value={decision}
        onChange={(e) => setDecision(e.target.value as 'charge' | 'refund')}
      >
        <option value="refund">refund</option>
        <option value="charge">charge</option>
      </select>
      <label htmlFor={ids.reason} className="sr-only">
        Reason
      </label>
      <input
        id={ids.reason}
        placeholder="reason"
        value={reason}
        required
        onChange={(e) => setReason(e.target.value)}
      />
      <button type="submit" disabled={resolve.isPending || reason.trim() === ''}>
        Resolve
      </button>
      {resolve.isError ? <ErrorMessage error={resolve.error} /> : null}
    </form>
  );
}
