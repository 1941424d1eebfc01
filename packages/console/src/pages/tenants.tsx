import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { usd } from '../money.ts';
import { Link, navigate } from '../router.tsx';
import { useTRPC } from '../trpc.ts';
import { ErrorMessage, Pager, PageTitle, QueryView, StatusBadge, useCursorPages } from '../ui.tsx';

const PAGE_SIZE = 25;

export function TenantsPage() {
  const trpc = useTRPC();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<'' | 'active' | 'suspended'>('');
  const [creating, setCreating] = useState(false);
  const name = search.trim();
  const pages = useCursorPages(`${name}|${status}`);
  const query = useQuery(
    trpc.admin.tenants.list.queryOptions(
      {
        limit: PAGE_SIZE,
        ...(name === '' ? {} : { name }),
        ...(status === '' ? {} : { status }),
        ...(pages.cursor === undefined ? {} : { cursor: pages.cursor }),
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );
  const searchId = useId();
  const statusId = useId();

  return (
    <>
      <PageTitle>Tenants</PageTitle>
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={searchId}>Search by name</label>
          <input id={searchId} type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field inline">
          <label htmlFor={statusId}>Status</label>
          <select
            id={statusId}
            value={status}
            onChange={(e) => setStatus(e.target.value as '' | 'active' | 'suspended')}
          >
            <option value="">any</option>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
          </select>
        </div>
        <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
          New tenant
        </button>
      </div>
      {creating ? <NewTenantForm onClose={() => setCreating(false)} /> : null}
      <QueryView
        query={query}
        isEmpty={(d) => d.items.length === 0}
        empty={name || status ? 'No tenant matches these filters.' : 'No tenants yet: create the first one.'}
      >
        {(data) => (
          <>
            <table>
              <caption className="sr-only">Tenants, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Id</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Available
                  </th>
                  <th scope="col" className="num">
                    Held
                  </th>
                  <th scope="col" className="num">
                    Active jobs
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <Link to={`/tenants/${t.id}`}>{t.name}</Link>
                    </td>
                    <td>
                      <code>{t.id}</code>
                    </td>
                    <td>
                      <StatusBadge status={t.status} />
                    </td>
                    <td className="num">{usd(t.availableMicroCents)}</td>
                    <td className="num">{usd(t.heldMicroCents)}</td>
                    <td className="num">{t.activeJobs}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager
              label="Tenants"
              page={pages.page}
              nextCursor={data.nextCursor}
              onNext={pages.next}
              onPrevious={pages.previous}
            />
          </>
        )}
      </QueryView>
    </>
  );
}

function NewTenantForm({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [markup, setMarkup] = useState('');
  const create = useMutation(
    trpc.admin.tenants.create.mutationOptions({
      onSuccess: async (tenant) => {
        await queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.list.queryKey() });
        navigate(`/tenants/${tenant.id}`);
      },
    }),
  );
  const nameId = useId();
  const markupId = useId();
  const headingId = useId();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending) return;
    const markupBps = markup.trim() === '' ? undefined : Number(markup);
    create.mutate({ name: name.trim(), ...(markupBps === undefined ? {} : { markupBps }) });
  };

  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>New tenant</h2>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input
            id={nameId}
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={200}
            // biome-ignore lint/a11y/noAutofocus: the form was just opened by its button
            autoFocus
          />
        </div>
        <div className="field">
          <label htmlFor={markupId}>Markup (basis points, optional)</label>
          <input
            id={markupId}
            inputMode="numeric"
            pattern="[0-9]*"
            value={markup}
            onChange={(e) => setMarkup(e.target.value)}
          />
        </div>
        {create.isError ? <ErrorMessage error={create.error} /> : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending} aria-busy={create.isPending}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
