import { type Mode, modeOfTenant, SANDBOX_START_MICRO_CENTS } from '@tollgate/db';
import type {
  AdjustResult,
  advanceJob,
  CreditResult,
  captureJob,
  EnsureSandboxResult,
  ExpireUnknownJobResult,
  expireOverdueJob,
  OpenJobResult,
  ResolveJobResult,
  releaseJob,
  resetSandboxBalance,
} from '@tollgate/db/ledger';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type JobStatusCounts = Array<{ status: string; count: number }>;
/** Tenant balances summed per book (live money, test mode's). */
export type MoneySnapshot = Array<{ mode: Mode; availableMicroCents: bigint; heldMicroCents: bigint }>;

/** Moves of money this instance performed, for the `tollgate_money_moved_micro_cents_total` counter. */
export type MoneyMovement =
  | 'held'
  | 'captured'
  | 'released'
  | 'refunded'
  | 'topped_up'
  | 'adjusted_up'
  | 'adjusted_down';

/**
 * The result of a ledger call that moves money, named by the call: the one input of the money
 * counter (`recordMoneyMovement`). What moved is read from the result (what the ledger did), never
 * from a job the caller read before the call, which may be stale. Credits carry the tenant and amount
 * the caller asked for: their results say only whether the credit was written or replayed (and a
 * balance reset's result does not name its tenant).
 */
export type LedgerMoneyResult =
  | { op: 'openJob'; result: OpenJobResult }
  | { op: 'captureJob'; result: Awaited<ReturnType<typeof captureJob>> }
  | { op: 'releaseJob'; result: Awaited<ReturnType<typeof releaseJob>> }
  | { op: 'advanceJob'; result: Awaited<ReturnType<typeof advanceJob>> }
  | { op: 'expireUnknownJob'; result: ExpireUnknownJobResult }
  | { op: 'expireOverdueJob'; result: Awaited<ReturnType<typeof expireOverdueJob>> }
  | { op: 'resolveJob'; result: ResolveJobResult }
  | { op: 'topUp'; result: CreditResult; tenantId: string; amountMicroCents: bigint }
  | { op: 'adjust'; result: AdjustResult; tenantId: string; amountMicroCents: bigint }
  | { op: 'ensureSandbox'; result: EnsureSandboxResult }
  | { op: 'resetSandboxBalance'; result: Awaited<ReturnType<typeof resetSandboxBalance>>; tenantId: string };

type MoneyMoved = { movement: MoneyMovement; amountMicroCents: bigint; tenantId: string };

/**
 * What one ledger call moved. A job's money moves at most once per kind (held once, then captured or
 * released once, refunded at most once and only as it ends), and a job already ended is never
 * changed, so a call that changed a job refunded whatever refund its result carries.
 */
function moneyMovedBy(r: LedgerMoneyResult): MoneyMoved[] {
  switch (r.op) {
    case 'openJob':
      // A replay returns the job an earlier call opened: nothing held now.
      if (!r.result.ok || r.result.replayed) return [];
      return [moved('held', r.result.job.costMicroCents, r.result.job.tenantId)];
    case 'captureJob':
      if (!r.result.captured) return [];
      return [moved('captured', r.result.job.costMicroCents, r.result.job.tenantId)];
    case 'releaseJob':
      if (!r.result.released) return [];
      return [moved('released', r.result.job.costMicroCents, r.result.job.tenantId)];
    case 'advanceJob': {
      const { job, changed, captured } = r.result;
      if (!changed) return [];
      return [
        ...(captured ? [moved('captured', job.costMicroCents, job.tenantId)] : []),
        moved('refunded', job.refundedMicroCents, job.tenantId),
      ];
    }
    case 'expireUnknownJob':
      if (!r.result.ok || !r.result.expired) return [];
      return [moved('released', r.result.job.costMicroCents, r.result.job.tenantId)];
    case 'expireOverdueJob':
      if (!r.result.ok || !r.result.expired) return [];
      return [moved('refunded', r.result.job.refundedMicroCents, r.result.job.tenantId)];
    case 'resolveJob': {
      if (!r.result.ok) return [];
      const { job, before } = r.result;
      // An open hold (submitting/unknown) is captured (→ completed) or released (→ rejected); a
      // captured job (pending/processing) is left charged (→ completed) or refunded (→ failed).
      if (before === 'submitting' || before === 'unknown') {
        return [
          moved(job.status === 'completed' ? 'captured' : 'released', job.costMicroCents, job.tenantId),
        ];
      }
      return [moved('refunded', job.refundedMicroCents, job.tenantId)];
    }
    case 'topUp':
      if (!r.result.ok || r.result.replayed) return [];
      return [moved('topped_up', r.amountMicroCents, r.tenantId)];
    case 'adjust':
      if (!r.result.ok || r.result.replayed) return [];
      return [adjusted(r.amountMicroCents, r.tenantId)];
    case 'ensureSandbox':
      // A sandbox opens with its starting test credit (test money: the `test` book).
      if (!r.result.ok || !r.result.created) return [];
      return [moved('topped_up', SANDBOX_START_MICRO_CENTS, r.result.tenantId)];
    case 'resetSandboxBalance':
      // The test balance put back to $100.00: an adjustment of the difference (none when already there).
      if (!r.result.ok) return [];
      return [adjusted(r.result.adjustedMicroCents, r.tenantId)];
    default: {
      const never: never = r;
      throw new Error(`unhandled ledger call ${String((never as LedgerMoneyResult).op)}`);
    }
  }
}

function moved(movement: MoneyMovement, amountMicroCents: bigint, tenantId: string): MoneyMoved {
  return { movement, amountMicroCents, tenantId };
}

/** A signed adjustment, counted by its direction (a counter only grows). */
function adjusted(signedMicroCents: bigint, tenantId: string): MoneyMoved {
  return signedMicroCents > 0n
    ? moved('adjusted_up', signedMicroCents, tenantId)
    : moved('adjusted_down', -signedMicroCents, tenantId);
}

/**
 * Prometheus metrics on a private registry (several apps in one process — tests — never collide).
 * Money counters are observability only: Prometheus stores doubles, so values above 2^53 micro-cents
 * lose precision there. The ledger, not /metrics, is the source of truth.
 */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(
  opts: {
    defaultMetrics?: boolean;
    /** Read at scrape time (one grouped query each); failures leave the gauges unset, never fail /metrics. */
    jobStatusCounts?: () => Promise<JobStatusCounts>;
    moneySnapshot?: () => Promise<MoneySnapshot>;
    /** The database breaker (db-breaker.ts), read at scrape time. */
    dbBreaker?: { isOpen(): boolean; refused(): number };
  } = {},
) {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });

  const httpRequests = new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const trpcCalls = new Counter({
    name: 'tollgate_trpc_calls_total',
    help: 'tRPC procedure calls by path and outcome code',
    labelNames: ['path', 'code'] as const,
    registers: [registry],
  });
  const upstreamCalls = new Counter({
    name: 'tollgate_upstream_calls_total',
    help: 'Pixelbyte calls by operation and outcome (ok | rejected | unknown | not_sent) and code',
    labelNames: ['operation', 'outcome', 'code'] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'tollgate_upstream_call_duration_seconds',
    help: 'Pixelbyte call latency by operation',
    labelNames: ['operation'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const moneyMoved = new Counter({
    name: 'tollgate_money_moved_micro_cents_total',
    help: 'Micro-cents moved by this instance (held, captured, released, refunded, topped_up, adjusted_up, adjusted_down); observability only',
    labelNames: ['movement', 'mode'] as const,
    registers: [registry],
  });
  const jobTransitions = new Counter({
    name: 'tollgate_job_transitions_total',
    help: 'Job status transitions recorded by this instance',
    labelNames: ['to'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'tollgate_webhooks_total',
    help: 'Pixelbyte webhook deliveries by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const jobStatusCounts = opts.jobStatusCounts;
  new Gauge({
    name: 'tollgate_jobs',
    help: 'Jobs not yet ended, by status (whole database, read at scrape time)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      if (!jobStatusCounts) return;
      try {
        const rows = await jobStatusCounts();
        this.reset();
        for (const r of rows) this.set({ status: r.status }, r.count);
      } catch {
        // A scrape must not fail because the DB is briefly unavailable; /readyz reports that.
      }
    },
  });
  const moneySnapshot = opts.moneySnapshot;
  new Gauge({
    name: 'tollgate_tenant_balance_micro_cents',
    help: 'Sum of tenant balances by kind (available | held) and book (mode: live | test), read at scrape time',
    labelNames: ['kind', 'mode'] as const,
    registers: [registry],
    async collect() {
      if (!moneySnapshot) return;
      try {
        for (const s of await moneySnapshot()) {
          this.set({ kind: 'available', mode: s.mode }, Number(s.availableMicroCents));
          this.set({ kind: 'held', mode: s.mode }, Number(s.heldMicroCents));
        }
      } catch {
        // see above
      }
    },
  });

  const dbBreaker = opts.dbBreaker;
  new Gauge({
    name: 'tollgate_database_up',
    help: '0 while the database breaker is open (the database is known to be down), 1 otherwise',
    registers: [registry],
    collect() {
      if (dbBreaker) this.set(dbBreaker.isOpen() ? 0 : 1);
    },
  });
  new Counter({
    name: 'tollgate_database_refused_total',
    help: 'Requests refused with 503 by the database breaker without touching the database',
    registers: [registry],
    collect() {
      if (!dbBreaker) return;
      this.reset();
      this.inc(dbBreaker.refused());
    },
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    trpcCalls,
    upstreamCalls,
    upstreamDuration,
    webhooks,
    jobTransitions,
    /**
     * The one place money metrics are emitted: every path that moves money passes the ledger's result
     * here (bigint in, converted for Prometheus only; the book of the tenant is the `mode` label).
     */
    recordMoneyMovement(r: LedgerMoneyResult): void {
      for (const m of moneyMovedBy(r)) {
        if (m.amountMicroCents > 0n)
          moneyMoved.inc(
            { movement: m.movement, mode: modeOfTenant(m.tenantId) },
            Number(m.amountMicroCents),
          );
      }
    },
  };
}
