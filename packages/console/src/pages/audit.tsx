import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../trpc.ts';
import { PagedQueryView, PageTitle, TableHead, TextField, useCursorPages, utc } from '../ui.tsx';

const PAGE_SIZE = 25;

/** A before/after snapshot in one line (the audit row keeps the full JSON; this is for scanning). */
function brief(value: unknown): string {
  if (value === null || value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export function AuditPage() {
  const trpc = useTRPC();
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [targetId, setTargetId] = useState('');
  const filters = { actor: actor.trim(), action: action.trim(), targetId: targetId.trim() };
  const pages = useCursorPages(JSON.stringify(filters));
  const query = useQuery(
    trpc.admin.audit.list.queryOptions(
      {
        limit: PAGE_SIZE,
        ...(filters.actor === '' ? {} : { actor: filters.actor }),
        ...(filters.action === '' ? {} : { action: filters.action }),
        ...(filters.targetId === '' ? {} : { targetId: filters.targetId }),
        ...pages.input,
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <div className="toolbar">
        <TextField label="Actor" inline value={actor} onValue={setActor} />
        <TextField
          label="Action"
          inline
          value={action}
          placeholder="e.g. credits.top_up"
          onValue={setAction}
        />
        <TextField label="Target id" inline value={targetId} onValue={setTargetId} />
      </div>
      <PagedQueryView query={query} pages={pages} label="Audit log" empty="No admin action matches.">
        {(data) => (
          <table>
            <caption className="sr-only">Admin actions, newest first</caption>
            <TableHead columns={['When', 'Actor', 'Action', 'Target', 'Before', 'After', 'Request id']} />
            <tbody>
              {data.items.map((a) => (
                <tr key={a.id}>
                  <td>{utc(a.createdAt)}</td>
                  <td>
                    {a.actorName ? (
                      <>
                        {a.actorName} <code className="muted">{a.actor}</code>
                      </>
                    ) : (
                      a.actor
                    )}
                  </td>
                  <td>
                    <code>{a.action}</code>
                  </td>
                  <td>
                    {a.targetType} <code>{a.targetId}</code>
                  </td>
                  <td className="json">{brief(a.before)}</td>
                  <td className="json">{brief(a.after)}</td>
                  <td>
                    <code>{a.requestId ?? '—'}</code>
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
