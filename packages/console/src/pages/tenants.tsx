import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { usd } from '../money.ts';
import { Link, navigate } from '../router.tsx';
import { useTRPC } from '../trpc.ts';
import {
  Field,
  FormPanel,
  PagedQueryView,
  PageTitle,
  StatusBadge,
  TableHead,
  TextField,
  useCursorPages,
} from '../ui.tsx';

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
        ...pages.input,
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );

  return (
    <>
      <PageTitle>Tenants</PageTitle>
      <div className="toolbar">
        <TextField label="Search by name" inline type="search" value={search} onValue={setSearch} />
        <Field label="Status" inline>
          {(id) => (
            <select
              id={id}
              value={status}
              onChange={(e) => setStatus(e.target.value as '' | 'active' | 'suspended')}
            >
              <option value="">any</option>
              <option value="active">active</option>
              <option value="suspended">suspended</option>
            </select>
          )}
        </Field>
        <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
          New tenant
        </button>
      </div>
      {creating ? <NewTenantForm onClose={() => setCreating(false)} /> : null}
      <PagedQueryView
        query={query}
        pages={pages}
        label="Tenants"
        empty={name || status ? 'No tenant matches these filters.' : 'No tenants yet: create the first one.'}
      >
        {(data) => (
          <table>
            <caption className="sr-only">Tenants, newest first</caption>
            <TableHead
              columns={[
                'Name',
                'Id',
                'Status',
                { label: 'Available', num: true },
                { label: 'Held', num: true },
                { label: 'Active jobs', num: true },
              ]}
            />
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
        )}
      </PagedQueryView>
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
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending) return;
    const markupBps = markup.trim() === '' ? undefined : Number(markup);
    create.mutate({ name: name.trim(), ...(markupBps === undefined ? {} : { markupBps }) });
  };

  return (
    <FormPanel
      title="New tenant"
      onSubmit={submit}
      call={create}
      submitLabel="Create"
      onClose={onClose}
      closeLabel="Cancel"
      browserValidation
    >
      <TextField
        label="Name"
        value={name}
        onValue={setName}
        required
        maxLength={200}
        // The form was just opened by its button: typing goes straight in.
        autoFocus
      />
      <TextField
        label="Markup (basis points, optional)"
        inputMode="numeric"
        pattern="[0-9]*"
        value={markup}
        onValue={setMarkup}
      />
    </FormPanel>
  );
}
