import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { parseUsdInput, usd } from '../money.ts';
import { Link } from '../router.tsx';
import { useTRPC } from '../trpc.ts';
import {
  AmountCard,
  ErrorMessage,
  FormPanel,
  PageTitle,
  QueryView,
  StatusBadge,
  TextField,
  utc,
} from '../ui.tsx';
import { TenantKeys } from './keys.tsx';

/** A fresh reference for a credit form (the operator may replace it with the invoice number). */
function newReference(kind: string): string {
  const day = new Date().toISOString().slice(0, 10);
  return `${kind}-${day}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * The idempotency key of a credit made from the console: the form's reference, scoped to the tenant
 * and the kind of credit (keys share one namespace across tenants). Submitting the same form twice —
 * a double click, a retry after a lost answer — is one credit; the same reference with another
 * amount is refused (CONFLICT) instead of crediting again.
 */
export function creditKey(kind: 'topup' | 'adjust', tenantId: string, reference: string): string {
  return `console-${kind}:${tenantId}:${reference}`;
}

export function TenantPage({ tenantId }: { tenantId: string }) {
  const trpc = useTRPC();
  const query = useQuery(trpc.admin.tenants.get.queryOptions({ tenantId }));
  const [open, setOpen] = useState<'topup' | 'adjust' | 'settings' | null>(null);

  return (
    <>
      <p className="crumbs">
        <Link to="/tenants">Tenants</Link> / <code>{tenantId}</code>
      </p>
      <QueryView query={query}>
        {(t) => (
          <>
            <PageTitle>{t.name}</PageTitle>
            <section aria-label="Balance" className="cards">
              <AmountCard label="Available" amount={usd(t.availableMicroCents)} testId="available" />
              <AmountCard label="Held" amount={usd(t.heldMicroCents)} />
              <AmountCard label="Spent today (UTC)" amount={usd(t.spentTodayMicroCents)} />
              <div className="card">
                <span className="label">Status</span>
                <StatusBadge status={t.status} />
              </div>
            </section>
            <div className="toolbar">
              <button
                type="button"
                className="primary"
                onClick={() => setOpen('topup')}
                disabled={open === 'topup'}
              >
                Top up
              </button>
              <button type="button" onClick={() => setOpen('adjust')} disabled={open === 'adjust'}>
                Adjust
              </button>
              <button type="button" onClick={() => setOpen('settings')} disabled={open === 'settings'}>
                Edit settings
              </button>
              <StatusButton tenantId={t.id} status={t.status} />
            </div>
            {open === 'topup' ? <TopUpForm tenantId={t.id} onClose={() => setOpen(null)} /> : null}
            {open === 'adjust' ? <AdjustForm tenantId={t.id} onClose={() => setOpen(null)} /> : null}
            {open === 'settings' ? <SettingsForm tenant={t} onClose={() => setOpen(null)} /> : null}
            <h2>Settings</h2>
            <dl className="facts">
              <dt>Id</dt>
              <dd>
                <code>{t.id}</code>
              </dd>
              <dt>Markup</dt>
              <dd>{t.markupBps} bps</dd>
              <dt>Max concurrent jobs</dt>
              <dd>{t.limits.maxConcurrentJobs ?? 'unlimited'}</dd>
              <dt>Daily spend limit</dt>
              <dd>
                {t.limits.dailySpendLimitMicroCents === null
                  ? 'unlimited'
                  : usd(t.limits.dailySpendLimitMicroCents)}
              </dd>
              <dt>Requests per minute</dt>
              <dd>{t.limits.requestsPerMinute ?? 'unlimited'}</dd>
              <dt>Webhook URL</dt>
              <dd>{t.webhookUrl ?? 'none'}</dd>
              <dt>Active jobs</dt>
              <dd>{t.activeJobs}</dd>
              <dt>Created</dt>
              <dd>{utc(t.createdAt)}</dd>
            </dl>
            <TenantKeys tenantId={t.id} suspended={t.status === 'suspended'} />
            <TokenSection tenantId={t.id} />
          </>
        )}
      </QueryView>
    </>
  );
}

function useRefreshTenant(tenantId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.get.queryKey({ tenantId }) }),
      queryClient.invalidateQueries({ queryKey: trpc.admin.tenants.list.queryKey() }),
    ]);
  };
}

function TopUpForm({ tenantId, onClose }: { tenantId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshTenant(tenantId);
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState(() => newReference('topup'));
  const [invalid, setInvalid] = useState<string | null>(null);
  const topUp = useMutation(trpc.admin.credits.topUp.mutationOptions({ onSuccess: refresh }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    // In flight: the button is disabled, and a second submit (Enter twice) is dropped here too.
    if (topUp.isPending) return;
    const parsed = parseUsdInput(amount);
    if (!parsed.ok) return setInvalid(parsed.error);
    if (reference.trim() === '') return setInvalid('Give a reference (e.g. the invoice number)');
    setInvalid(null);
    topUp.mutate({
      tenantId,
      amountMicroCents: parsed.microCents.toString(),
      reference: reference.trim(),
      idempotencyKey: creditKey('topup', tenantId, reference.trim()),
    });
  };

  const done = !topUp.isSuccess
    ? null
    : topUp.data.replayed
      ? `Already credited under this reference: nothing added. Available: ${usd(topUp.data.availableMicroCents)}.`
      : `Credited. Available: ${usd(topUp.data.availableMicroCents)}.`;

  return (
    <FormPanel
      title="Top up"
      onSubmit={submit}
      call={topUp}
      invalid={invalid}
      done={done}
      submitLabel="Confirm top-up"
      onClose={onClose}
    >
      <TextField
        label="Amount (USD)"
        inputMode="decimal"
        value={amount}
        onValue={setAmount}
        aria-invalid={invalid !== null}
        // The form was just opened by its button: typing goes straight in.
        autoFocus
      />
      <TextField
        label="Reference"
        value={reference}
        onValue={setReference}
        maxLength={200}
        hint="The payment or invoice reference. Submitting the same reference again credits nothing more."
      />
    </FormPanel>
  );
}

function AdjustForm({ tenantId, onClose }: { tenantId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshTenant(tenantId);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [reference] = useState(() => newReference('adjust'));
  const [invalid, setInvalid] = useState<string | null>(null);
  const adjust = useMutation(trpc.admin.credits.adjust.mutationOptions({ onSuccess: refresh }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (adjust.isPending) return;
    const parsed = parseUsdInput(amount, { signed: true });
    if (!parsed.ok) return setInvalid(parsed.error);
    if (reason.trim() === '') return setInvalid('Give the reason for the adjustment');
    setInvalid(null);
    adjust.mutate({
      tenantId,
      amountMicroCents: parsed.microCents.toString(),
      reason: reason.trim(),
      // One key per opened form: the same adjustment submitted twice is applied once.
      idempotencyKey: creditKey('adjust', tenantId, reference),
    });
  };

  return (
    <FormPanel
      title="Adjust balance"
      onSubmit={submit}
      call={adjust}
      invalid={invalid}
      done={
        adjust.isSuccess
          ? `${adjust.data.replayed ? 'Already applied: nothing changed.' : 'Adjusted.'} Available: ${usd(adjust.data.availableMicroCents)}.`
          : null
      }
      submitLabel="Confirm adjustment"
      onClose={onClose}
    >
      <TextField
        label="Amount (USD)"
        inputMode="decimal"
        value={amount}
        onValue={setAmount}
        hint="Positive credits the tenant, negative (e.g. -2.50) debits it; never below zero."
        // The form was just opened by its button: typing goes straight in.
        autoFocus
      />
      <TextField label="Reason" value={reason} maxLength={500} onValue={setReason} />
    </FormPanel>
  );
}

type TenantForSettings = {
  id: string;
  markupBps: number;
  webhookUrl: string | null;
  limits: {
    maxConcurrentJobs: number | null;
    dailySpendLimitMicroCents: number | null;
    requestsPerMinute: number | null;
  };
};

const optionalInt = (text: string): number | null | 'invalid' =>
  text.trim() === '' ? null : /^\d+$/.test(text.trim()) ? Number(text.trim()) : 'invalid';

function SettingsForm({ tenant, onClose }: { tenant: TenantForSettings; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshTenant(tenant.id);
  const [markup, setMarkup] = useState(String(tenant.markupBps));
  const [concurrent, setConcurrent] = useState(tenant.limits.maxConcurrentJobs?.toString() ?? '');
  const [daily, setDaily] = useState(
    tenant.limits.dailySpendLimitMicroCents === null
      ? ''
      : usd(tenant.limits.dailySpendLimitMicroCents).replace('$', ''),
  );
  const [rpm, setRpm] = useState(tenant.limits.requestsPerMinute?.toString() ?? '');
  const [webhookUrl, setWebhookUrl] = useState(tenant.webhookUrl ?? '');
  const [invalid, setInvalid] = useState<string | null>(null);
  const update = useMutation(trpc.admin.tenants.update.mutationOptions({ onSuccess: refresh }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (update.isPending) return;
    const markupBps = optionalInt(markup);
    const maxConcurrentJobs = optionalInt(concurrent);
    const requestsPerMinute = optionalInt(rpm);
    if (markupBps === null || markupBps === 'invalid')
      return setInvalid('Markup: a whole number of basis points');
    if (maxConcurrentJobs === 'invalid' || requestsPerMinute === 'invalid') {
      return setInvalid('Limits: whole numbers, or empty for unlimited');
    }
    let dailySpendLimitMicroCents: string | null = null;
    if (daily.trim() !== '') {
      const parsed = parseUsdInput(daily);
      if (!parsed.ok) return setInvalid(`Daily spend limit: ${parsed.error}`);
      dailySpendLimitMicroCents = parsed.microCents.toString();
    }
    setInvalid(null);
    update.mutate({
      tenantId: tenant.id,
      markupBps,
      limits: { maxConcurrentJobs, requestsPerMinute, dailySpendLimitMicroCents },
      webhookUrl: webhookUrl.trim() === '' ? null : webhookUrl.trim(),
    });
  };

  return (
    <FormPanel
      title="Edit settings"
      onSubmit={submit}
      call={update}
      invalid={invalid}
      done={update.isSuccess ? 'Saved.' : null}
      submitLabel="Save settings"
      onClose={onClose}
    >
      <TextField label="Markup (basis points)" inputMode="numeric" value={markup} onValue={setMarkup} />
      <TextField
        label="Max concurrent jobs (empty: unlimited)"
        inputMode="numeric"
        value={concurrent}
        onValue={setConcurrent}
      />
      <TextField
        label="Daily spend limit, USD (empty: unlimited)"
        inputMode="decimal"
        value={daily}
        onValue={setDaily}
      />
      <TextField
        label="Requests per minute (empty: unlimited)"
        inputMode="numeric"
        value={rpm}
        onValue={setRpm}
      />
      <TextField
        label="Webhook URL (https; empty: none)"
        type="url"
        value={webhookUrl}
        onValue={setWebhookUrl}
      />
    </FormPanel>
  );
}

function StatusButton({ tenantId, status }: { tenantId: string; status: 'active' | 'suspended' }) {
  const trpc = useTRPC();
  const refresh = useRefreshTenant(tenantId);
  const suspend = useMutation(trpc.admin.tenants.suspend.mutationOptions({ onSuccess: refresh }));
  const reactivate = useMutation(trpc.admin.tenants.reactivate.mutationOptions({ onSuccess: refresh }));
  const pending = suspend.isPending || reactivate.isPending;
  const error = suspend.error ?? reactivate.error;
  return (
    <>
      {status === 'active' ? (
        <button
          type="button"
          className="danger"
          disabled={pending}
          onClick={() => {
            if (
              window.confirm('Suspend this tenant? Its keys and tokens are refused until it is reactivated.')
            ) {
              suspend.mutate({ tenantId, reason: 'suspended from the console' });
            }
          }}
        >
          Suspend
        </button>
      ) : (
        <button
          type="button"
          disabled={pending}
          onClick={() => reactivate.mutate({ tenantId, reason: 'reactivated from the console' })}
        >
          Reactivate
        </button>
      )}
      {error ? <ErrorMessage error={error} /> : null}
    </>
  );
}

function TokenSection({ tenantId }: { tenantId: string }) {
  const trpc = useTRPC();
  const issue = useMutation(trpc.admin.tenants.issueToken.mutationOptions());
  const headingId = useId();
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Tenant token</h2>
      <p className="muted">A JWT for this tenant's backend (valid 90 days). It is shown once: copy it now.</p>
      <button type="button" disabled={issue.isPending} onClick={() => issue.mutate({ tenantId })}>
        Issue token
      </button>
      {issue.isError ? <ErrorMessage error={issue.error} /> : null}
      {issue.isSuccess ? (
        <div className="secret">
          <label>
            New token (expires {utc(issue.data.expiresAt)})
            <textarea readOnly value={issue.data.token} rows={3} />
          </label>
        </div>
      ) : null}
    </section>
  );
}
