import type { UseQueryResult } from '@tanstack/react-query';
import {
  type FormEvent,
  type InputHTMLAttributes,
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
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
 * the API needing backward cursors. Reset when the filters change. `input` is the list query's
 * cursor parameter (none on the first page).
 */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key: resetKey,
    cursors: [undefined],
  });
  const cursors = state.key === resetKey ? state.cursors : [undefined];
  const page = cursors.length;
  const cursor = cursors[cursors.length - 1];
  return {
    input: cursor === undefined ? {} : { cursor },
    page,
    next: (nextCursor: string) => setState({ key: resetKey, cursors: [...cursors, nextCursor] }),
    previous: () => setState({ key: resetKey, cursors: cursors.slice(0, -1) }),
  };
}

export type CursorPages = ReturnType<typeof useCursorPages>;

/** A cursor-paged list query: its states (QueryView), the rows `children` renders, then the pager. */
export function PagedQueryView<T extends { items: readonly unknown[]; nextCursor: string | null }>(props: {
  query: UseQueryResult<T, unknown>;
  pages: CursorPages;
  /** Names the pager (`<label> pages`). */
  label: string;
  empty: ReactNode;
  children: (data: T) => ReactNode;
}) {
  const { pages } = props;
  return (
    <QueryView query={props.query} isEmpty={(d) => d.items.length === 0} empty={props.empty}>
      {(data) => (
        <>
          {props.children(data)}
          <Pager
            label={props.label}
            page={pages.page}
            nextCursor={data.nextCursor}
            onNext={pages.next}
            onPrevious={pages.previous}
          />
        </>
      )}
    </QueryView>
  );
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

/** A labelled form control: `children` renders the control with the id the label points to. */
export function Field(props: {
  label: ReactNode;
  inline?: boolean | undefined;
  children: (id: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className={props.inline ? 'field inline' : 'field'}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id)}
    </div>
  );
}

/**
 * A labelled text input (`onValue` gets its text); `hint` is shown under it and describes it to
 * screen readers.
 */
export function TextField({
  label,
  inline,
  hint,
  onValue,
  ...input
}: {
  label: ReactNode;
  inline?: boolean;
  hint?: ReactNode;
  onValue: (value: string) => void;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange'>) {
  return (
    <Field label={label} inline={inline}>
      {(id) => (
        <>
          <input
            id={id}
            {...input}
            {...(hint ? { 'aria-describedby': `${id}-hint` } : {})}
            onChange={(e) => onValue(e.target.value)}
          />
          {hint ? (
            <p id={`${id}-hint`} className="muted small">
              {hint}
            </p>
          ) : null}
        </>
      )}
    </Field>
  );
}

/**
 * A form opened by a button, in a titled panel: its fields (`children`), then what is wrong with
 * the input (`invalid`), the call's error, what it did (`done`), and submit / close.
 */
export function FormPanel(props: {
  title: string;
  onSubmit: (e: FormEvent) => void;
  /** The mutation the form sends. */
  call: { isPending: boolean; error: unknown };
  submitLabel: string;
  onClose: () => void;
  closeLabel?: string;
  invalid?: string | null;
  done?: string | null;
  /** Let the browser check `required` fields (the forms check their input themselves otherwise). */
  browserValidation?: boolean;
  children: ReactNode;
}) {
  const headingId = useId();
  const { call } = props;
  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      <form onSubmit={props.onSubmit} noValidate={!props.browserValidation}>
        {props.children}
        {props.invalid ? (
          <p role="alert" className="error">
            {props.invalid}
          </p>
        ) : null}
        {call.error ? <ErrorMessage error={call.error} /> : null}
        {props.done ? (
          <p role="status" className="ok">
            {props.done}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={call.isPending} aria-busy={call.isPending}>
            {props.submitLabel}
          </button>
          <button type="button" onClick={props.onClose}>
            {props.closeLabel ?? 'Close'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** A table's column headers; `num` ones are right-aligned amounts and counts, `hidden` ones are for screen readers only. */
export type Column = string | { label: string; num?: boolean; hidden?: boolean };

export function TableHead({ columns }: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => {
          const col = typeof c === 'string' ? { label: c } : c;
          return (
            <th key={col.label} scope="col" className={col.num ? 'num' : undefined}>
              {col.hidden ? <span className="sr-only">{col.label}</span> : col.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

/** A figure in a row of cards: its label, then the amount (already formatted). */
export function AmountCard(props: { label: string; amount: string; testId?: string }) {
  return (
    <div className="card">
      <span className="label">{props.label}</span>
      <span className="amount" data-testid={props.testId}>
        {props.amount}
      </span>
    </div>
  );
}
