import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTRPC } from '../trpc.ts';
import { ErrorMessage, Pager, PageTitle, QueryView, useCursorPages, utc } from '../ui.tsx';

const PAGE_SIZE = 25;

const EXAMPLE_RULE = `{
  "model": "google/nano-banana-dev/text-to-image",
  "name": "Nano Banana dev",
  "category": "image",
  "unit": "request",
  "baseCostMicroCents": "45000",
  "priceVersion": "2026-12-console",
  "params": { "prompt": { "type": "string", "required": true, "minLength": 1 } }
}`;

/** Runtime price overrides (`admin.prices.*`): the built-in price list is in @tollgate/pricing. */
export function PricesPage() {
  const trpc = useTRPC();
  const [model, setModel] = useState('');
  const [editing, setEditing] = useState(false);
  const filter = model.trim();
  const pages = useCursorPages(filter);
  const query = useQuery(
    trpc.admin.prices.list.queryOptions(
      {
        limit: PAGE_SIZE,
        ...(filter === '' ? {} : { model: filter }),
        ...(pages.cursor === undefined ? {} : { cursor: pages.cursor }),
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );
  const modelId = useId();
  return (
    <>
      <PageTitle>Prices</PageTitle>
      <p className="muted">
        Overrides of the built-in price list, newest effective date first. An override applies from its
        effective date (database clock); the latest one in force wins.
      </p>
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={modelId}>Model</label>
          <input id={modelId} value={model} onChange={(e) => setModel(e.target.value)} />
        </div>
        <button type="button" className="primary" onClick={() => setEditing(true)} disabled={editing}>
          New price override
        </button>
      </div>
      {editing ? <OverrideForm onClose={() => setEditing(false)} /> : null}
      <QueryView
        query={query}
        isEmpty={(d) => d.items.length === 0}
        empty="No price overrides: the built-in prices apply."
      >
        {(data) => (
          <>
            <table>
              <caption className="sr-only">Price overrides</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Price version</th>
                  <th scope="col">Effective from</th>
                  <th scope="col">In force</th>
                  <th scope="col">By</th>
                  <th scope="col">Rule</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((o) => (
                  <tr key={o.id}>
                    <td>{o.model}</td>
                    <td>
                      <code>{o.priceVersion}</code>
                    </td>
                    <td>{utc(o.effectiveFrom)}</td>
                    <td>{o.inForce ? 'yes' : 'no'}</td>
                    <td>{o.createdBy}</td>
                    <td>
                      <details>
                        <summary>Rule JSON</summary>
                        <pre>{JSON.stringify(o.rule, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager
              label="Price overrides"
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

function OverrideForm({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [rule, setRule] = useState(EXAMPLE_RULE);
  // datetime-local has no zone: the console reads and writes it as UTC, like every date here.
  const [effectiveFrom, setEffectiveFrom] = useState(() => new Date().toISOString().slice(0, 16));
  const [invalid, setInvalid] = useState<string | null>(null);
  const upsert = useMutation(
    trpc.admin.prices.upsert.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.admin.prices.list.queryKey() }),
    }),
  );
  const ids = { rule: useId(), from: useId(), h: useId() };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (upsert.isPending) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rule);
    } catch (err) {
      return setInvalid(`Rule is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return setInvalid('Rule must be a JSON object');
    }
    setInvalid(null);
    upsert.mutate({ rule: parsed as Record<string, unknown>, effectiveFrom: `${effectiveFrom}:00Z` });
  };
  return (
    <section className="panel" aria-labelledby={ids.h}>
      <h2 id={ids.h}>New price override</h2>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={ids.rule}>Rule (JSON)</label>
          <textarea
            id={ids.rule}
            rows={12}
            className="code"
            spellCheck={false}
            value={rule}
            onChange={(e) => setRule(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.from}>Effective from (UTC)</label>
          <input
            id={ids.from}
            type="datetime-local"
            value={effectiveFrom}
            onChange={(e) => setEffectiveFrom(e.target.value)}
          />
        </div>
        {invalid ? (
          <p role="alert" className="error">
            {invalid}
          </p>
        ) : null}
        {upsert.isError ? <ErrorMessage error={upsert.error} /> : null}
        {upsert.isSuccess ? (
          <p role="status" className="ok">
            {upsert.data.replayed ? 'Same override already stored: nothing changed.' : 'Saved.'}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={upsert.isPending}>
            Save override
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </section>
  );
}
