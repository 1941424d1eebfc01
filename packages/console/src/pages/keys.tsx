import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
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

const PAGE_SIZE = 25;

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
};

function keyState(k: KeyRow): 'active' | 'revoked' | 'expired' {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

/** A new key, shown once: the gateway keeps only its hash. */
function OneTimeKey({ label, value }: { label: string; value: string }) {
  const id = useId();
  return (
    <div className="secret" role="status">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} readOnly rows={2} value={value} onFocus={(e) => e.currentTarget.select()} />
      <p className="muted small">Copy it now: it is not shown again (only its prefix is listed).</p>
    </div>
  );
}

/** "2026-12-31" (a UTC day) from a date input, as the end of that day in ISO 8601; empty = never. */
function expiryOf(day: string): string | undefined {
  return day === '' ? undefined : `${day}T23:59:59Z`;
}

function KeysTable<T extends KeyRow>(props: {
  items: T[];
  extra: { header: string; cell: (k: T) => string };
  onRevoke: (k: T) => void;
  revoking: boolean;
  caption: string;
}) {
  return (
    <table>
      <caption className="sr-only">{props.caption}</caption>
      <TableHead
        columns={[
          'Name',
          props.extra.header,
          'Prefix',
          'State',
          'Created',
          'Last used',
          'Expires',
          { label: 'Actions', hidden: true },
        ]}
      />
      <tbody>
        {props.items.map((k) => (
          <tr key={k.id}>
            <td>{k.name}</td>
            <td>{props.extra.cell(k)}</td>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td>
              <StatusBadge status={keyState(k)} />
            </td>
            <td className="nowrap">{utc(k.createdAt)}</td>
            <td className="nowrap">{utc(k.lastUsedAt)}</td>
            <td className="nowrap">{k.expiresAt === null ? 'never' : utc(k.expiresAt)}</td>
            <td>
              {k.revokedAt === null ? (
                <button
                  type="button"
                  className="danger"
                  disabled={props.revoking}
                  aria-label={`Revoke ${k.name}`}
                  onClick={() => props.onRevoke(k)}
                >
                  Revoke
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A tenant's API keys (`admin.keys.*`), on the tenant's page. */
export function TenantKeys({ tenantId, suspended }: { tenantId: string; suspended: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pages = useCursorPages(tenantId);
  const query = useQuery(
    trpc.admin.keys.list.queryOptions(
      { tenantId, limit: PAGE_SIZE, ...pages.input },
      { placeholderData: keepPreviousData },
    ),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.keys.list.queryKey() });
  const create = useMutation(trpc.admin.keys.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.admin.keys.revoke.mutationOptions({ onSuccess: refresh }));
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'live' | 'test'>('live');
  const [expires, setExpires] = useState('');
  const headingId = useId();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending || name.trim() === '') return;
    const expiresAt = expiryOf(expires);
    create.mutate({ tenantId, name: name.trim(), mode, ...(expiresAt === undefined ? {} : { expiresAt }) });
  };

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>API keys</h2>
      <form className="toolbar" onSubmit={submit} aria-label="New API key">
        <TextField label="Key name" inline value={name} maxLength={200} onValue={setName} />
        <Field label="Mode" inline>
          {(id) => (
            <select id={id} value={mode} onChange={(e) => setMode(e.target.value as 'live' | 'test')}>
              <option value="live">live (tg_live_)</option>
              <option value="test">test (tg_test_)</option>
            </select>
          )}
        </Field>
        <TextField
          label="Expires (UTC day, optional)"
          inline
          type="date"
          value={expires}
          onValue={setExpires}
        />
        <button type="submit" disabled={create.isPending || name.trim() === '' || suspended}>
          Create key
        </button>
      </form>
      {suspended ? (
        <p className="muted">A suspended tenant gets no new keys (its keys are refused until reactivated).</p>
      ) : null}
      {create.isError ? <ErrorMessage error={create.error} /> : null}
      {create.isSuccess ? (
        <OneTimeKey label={`New key "${create.data.name}"`} value={create.data.key} />
      ) : null}
      {revoke.isError ? <ErrorMessage error={revoke.error} /> : null}
      <PagedQueryView query={query} pages={pages} label="API keys" empty="No API keys yet.">
        {(data) => (
          <KeysTable
            caption="API keys, newest first"
            items={data.items}
            extra={{ header: 'Mode', cell: (k) => k.mode }}
            revoking={revoke.isPending}
            onRevoke={(k) => {
              if (window.confirm(`Revoke "${k.name}"? Requests with it are refused within a second.`)) {
                revoke.mutate({ id: k.id });
              }
            }}
          />
        )}
      </PagedQueryView>
    </section>
  );
}

/** Operator keys (`admin.operators.*`): admins and finance people and scripts. */
export function OperatorsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pages = useCursorPages('operators');
  const query = useQuery(
    trpc.admin.operators.list.queryOptions(
      {
        includeRevoked: true,
        limit: PAGE_SIZE,
        ...pages.input,
      },
      { placeholderData: keepPreviousData },
    ),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.admin.operators.list.queryKey() });
  const create = useMutation(trpc.admin.operators.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.admin.operators.revoke.mutationOptions({ onSuccess: refresh }));
  const [name, setName] = useState('');
  const [role, setRole] = useState<'admin' | 'finance'>('finance');
  const [expires, setExpires] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (create.isPending || name.trim() === '') return;
    const expiresAt = expiryOf(expires);
    create.mutate({ name: name.trim(), role, ...(expiresAt === undefined ? {} : { expiresAt }) });
  };

  return (
    <>
      <PageTitle>Operators</PageTitle>
      <p className="muted">
        Operator keys (<code>tg_op_…</code>) sign in to this console and call the admin or finance procedures.
        What a key does is recorded under its id and name in the audit log.
      </p>
      <form className="toolbar" onSubmit={submit} aria-label="New operator key">
        <TextField label="Key name" inline value={name} maxLength={200} onValue={setName} />
        <Field label="Role" inline>
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as 'admin' | 'finance')}>
              <option value="finance">finance (read-only)</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
        <TextField
          label="Expires (UTC day, optional)"
          inline
          type="date"
          value={expires}
          onValue={setExpires}
        />
        <button type="submit" disabled={create.isPending || name.trim() === ''}>
          Create key
        </button>
      </form>
      {create.isError ? <ErrorMessage error={create.error} /> : null}
      {create.isSuccess ? (
        <OneTimeKey label={`New ${create.data.role} key "${create.data.name}"`} value={create.data.key} />
      ) : null}
      {revoke.isError ? <ErrorMessage error={revoke.error} /> : null}
      <PagedQueryView query={query} pages={pages} label="Operator keys" empty="No operator keys yet.">
        {(data) => (
          <KeysTable
            caption="Operator keys, newest first"
            items={data.items}
            extra={{ header: 'Role', cell: (k) => k.role }}
            revoking={revoke.isPending}
            onRevoke={(k) => {
              if (window.confirm(`Revoke "${k.name}"? It is refused everywhere within a second.`)) {
                revoke.mutate({ id: k.id });
              }
            }}
          />
        )}
      </PagedQueryView>
    </>
  );
}
