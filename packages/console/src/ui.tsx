import type { UseQueryResult } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { describeError } from './trpc.ts';

/** A page's heading; focused on arrival so keyboard and screen-reader users start at the new page. */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** A failed call as an operator reads it: message, reason, and the request id to quote to support. */
export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { message, reason, requestId } = describeError(error);
  return (
    <div role="alert" className="error">
      <p>
        {message}
        {reason ? <span className="muted"> ({reason})</span> : null}
      </p>
      {requestId ? <p className="muted small">Request id: {requestId}</p> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** Loading, error and empty states of a query in one place; `children` renders the data. */
export function QueryView<T, E = unknown>(props: {
  query: UseQueryResult<T, E>;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  const { query } = props;
  if (query.isPending) {
    return (
      <p role="status" className="muted">
        Loading…
      </p>
    );
  }
  if (query.isError) return <ErrorMessage error={query.error} onRetry={() => void query.refetch()} />;
  if (props.isEmpty?.(query.data)) {
    return (
      <p role="status" className="empty">
        {props.empty ?? 'Nothing here yet.'}
      </p>
    );
  }
  return <>{props.children(query.data)}</>;
}

/**
 * Cursor pagination state: the cursors of the pages seen so far, so "Previous" goes back without
 * the API needing backward cursors. Reset when the filters change.
 */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key: resetKey,
    cursors: [undefined],
  });
  const cursors = state.key === resetKey ? state.cursors : [undefined];
  const page = cursors.length;
  return {
    cursor: cursors[cursors.length - 1],
    page,
    next: (nextCursor: string) => setState({ key: resetKey, cursors: [...cursors, nextCursor] }),
    previous: () => setState({ key: resetKey, cursors: cursors.slice(0, -1) }),
  };
}

export function Pager(props: {
  page: number;
  nextCursor: string | null | undefined;
  onNext: (cursor: string) => void;
  onPrevious: () => void;
  label: string;
}) {
  const { nextCursor } = props;
  return (
    <nav className="pager" aria-label={`${props.label} pages`}>
      <button type="button" onClick={props.onPrevious} disabled={props.page <= 1}>
        Previous
      </button>
      <span aria-live="polite">Page {props.page}</span>
      <button
        type="button"
        onClick={() => nextCursor && props.onNext(nextCursor)}
        disabled={nextCursor === null || nextCursor === undefined}
      >
        Next
      </button>
    </nav>
  );
}

/** A timestamp as UTC text (reports and the ledger count UTC days). */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}
