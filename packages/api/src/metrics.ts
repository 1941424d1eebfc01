import { type Mode, modeOfTenant } from '@tollgate/db';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type JobStatusCounts = Array<{ status: string; count: number }>;
/** Tenant balances summed per book (live money, test mode's). */
export type MoneySnapshot = Array<{ mode: Mode; availableMicroCents: bigint; heldMicroCents: bigint }>;

/** Moves of money this instance performed, for the `tollgate_money_moved_micro_cents_total` counter. */
export type MoneyMovement = 'held' | 'captured' | 'released' | 'refunded';

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
    help: 'Micro-cents moved by this instance (held, captured, released, refunded); observability only',
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
    /** Counts a money movement of a job of `tenantId`'s book (bigint in, converted for Prometheus only). */
    money(movement: MoneyMovement, amountMicroCents: bigint, tenantId: string): void {
      if (amountMicroCents > 0n)
        moneyMoved.inc({ movement, mode: modeOfTenant(tenantId) }, Number(amountMicroCents));
    },
  };
}
