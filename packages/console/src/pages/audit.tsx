import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTRPC } from '../trpc.ts';
import { Pager, PageTitle, QueryView, useCursorPages, utc } from '../ui.tsx';

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
        ...(pages.cursor === undefined ? {} : { cursor: pages.cursor }),
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );
  const ids = { actor: useId(), action: useId(), target: useId() };

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={ids.actor}>Actor</label>
          <input id={ids.actor} value={actor} onChange={(e) => setActor(e.target.value)} />
        </div>
        <div className="field inline">
          <label htmlFor={ids.action}>Action</label>
          <input
            id={ids.action}
            value={action}
            placeholder="e.g. credits.top_up"
            onChange={(e) => setAction(e.target.value)}
          />
        </div>
        <div className="field inline">
          <label htmlFor={ids.target}>Target id</label>
          <input id={ids.target} value={targetId} onChange={(e) => setTargetId(e.target.value)} />
        </div>
      </div>
      <QueryView query={query} isEmpty={(d) => d.items.length === 0} empty="No admin action matches.">
        {(data) => (
          <>
            <table>
              <caption className="sr-only">Admin actions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                  <th scope="col">Request id</th>
                </tr>
              </thead>
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
            <Pager
              label="Audit log"
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
