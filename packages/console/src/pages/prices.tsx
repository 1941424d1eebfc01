import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTRPC } from '../trpc.ts';
import {
  Field,
  FormPanel,
  PagedQueryView,
  PageTitle,
  TableHead,
  TextField,
  useCursorPages,
  utc,
} from '../ui.tsx';

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
        ...pages.input,
      },
      // While the next page or filter loads, the current rows stay (no flash of "Loading…" per keystroke).
      { placeholderData: keepPreviousData },
    ),
  );
  return (
    <>
      <PageTitle>Prices</PageTitle>
      <p className="muted">
        Overrides of the built-in price list, newest effective date first. An override applies from its
        effective date (database clock); the latest one in force wins.
      </p>
      <div className="toolbar">
        <TextField label="Model" inline value={model} onValue={setModel} />
        <button type="button" className="primary" onClick={() => setEditing(true)} disabled={editing}>
          New price override
        </button>
      </div>
      {editing ? <OverrideForm onClose={() => setEditing(false)} /> : null}
      <PagedQueryView
        query={query}
        pages={pages}
        label="Price overrides"
        empty="No price overrides: the built-in prices apply."
      >
        {(data) => (
          <table>
            <caption className="sr-only">Price overrides</caption>
            <TableHead columns={['Model', 'Price version', 'Effective from', 'In force', 'By', 'Rule']} />
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
        )}
      </PagedQueryView>
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
    <FormPanel
      title="New price override"
      onSubmit={submit}
      call={upsert}
      invalid={invalid}
      done={
        upsert.isSuccess
          ? upsert.data.replayed
            ? 'Same override already stored: nothing changed.'
            : 'Saved.'
          : null
      }
      submitLabel="Save override"
      onClose={onClose}
    >
      <Field label="Rule (JSON)">
        {(id) => (
          <textarea
            id={id}
            rows={12}
            className="code"
            spellCheck={false}
            value={rule}
            onChange={(e) => setRule(e.target.value)}
          />
        )}
      </Field>
      <TextField
        label="Effective from (UTC)"
        type="datetime-local"
        value={effectiveFrom}
        onValue={setEffectiveFrom}
      />
    </FormPanel>
  );
}
