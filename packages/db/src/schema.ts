// The whole persistent state of tollgate. Every amount is an integer number of micro-cents
// (1,000,000 = $1) stored as Postgres `bigint` and read as a JS `bigint`: never a float.
// Money only moves through `@tollgate/db/ledger`; the constraints below (CHECKs, unique keys) and the
// triggers in the custom migration make the money invariants hold even against a buggy caller.
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const money = (name: string) => bigint(name, { mode: 'bigint' });
const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tenantStatus = pgEnum('tenant_status', ['active', 'suspended']);

/**
 * Which book a tenant row keeps. `live`: a real tenant (`ten_…`). `test`: the sandbox twin of a live
 * tenant (`tst_…`, same suffix), whose money is test money (test mode, docs/test-mode.md). The id
 * prefix and the mode are tied by a CHECK, so the book of any row is known from its tenant id alone.
 */
export const tenantMode = pgEnum('tenant_mode', ['live', 'test']);

/** Job lifecycle. `submitting` = money held, upstream call in progress; `unknown` = upstream outcome unknown (hold kept). */
export const jobStatus = pgEnum('job_status', [
  'submitting',
  'pending',
  'processing',
  'completed',
  'failed',
  'cancelled',
  'rejected',
  'unknown',
]);

/** Statuses of a job not yet ended: its hold is open (or, `unknown`, its outcome is being resolved). */
export const IN_FLIGHT_JOB_STATUSES = [
  'submitting',
  'pending',
  'processing',
  'unknown',
] as const satisfies readonly JobStatus[];

/**
 * IN_FLIGHT_JOB_STATUSES as an SQL list (`'submitting', 'pending', …`), for raw SQL: `status IN
 * (${IN_FLIGHT_JOB_STATUS_LIST})`. One list, so a status added to it reaches every query and the
 * poll index's predicate alike.
 */
export const IN_FLIGHT_JOB_STATUS_LIST = sql.raw(IN_FLIGHT_JOB_STATUSES.map((s) => `'${s}'`).join(', '));

/** Statuses after which a job never changes again (its money is settled). */
export const TERMINAL_JOB_STATUSES = [
  'completed',
  'failed',
  'cancelled',
  'rejected',
] as const satisfies readonly JobStatus[];

// Every status is in one of the two lists: a status added to the enum and to neither fails to compile
// here instead of being left out of the poller, the metrics and isTerminal.
type UnlistedJobStatus = Exclude<
  JobStatus,
  (typeof IN_FLIGHT_JOB_STATUSES)[number] | (typeof TERMINAL_JOB_STATUSES)[number]
>;
export const EVERY_JOB_STATUS_LISTED: [UnlistedJobStatus] extends [never] ? true : never = true;

/** A hold resolves exactly once: open → captured | released. Refund of a captured hold is a separate, once-only flag. */
export const holdStatus = pgEnum('hold_status', ['open', 'captured', 'released']);

export const ledgerKind = pgEnum('ledger_kind', [
  'top_up',
  'adjustment',
  'hold',
  'capture',
  'release',
  'refund',
]);

/** Double-entry accounts (docs/architecture.md). `tenant_*` accounts are per tenant; `platform_*` are global. */
export const ledgerAccount = pgEnum('ledger_account', [
  'tenant_available',
  'tenant_held',
  'platform_revenue',
  'platform_funding',
  'platform_adjustments',
]);

export const tenants = pgTable(
  'tenants',
  {
    /** `ten_…`, random and url-safe. */
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    status: tenantStatus('status').notNull().default('active'),
    /** Markup on list price in basis points (100 = 1%); applied by pricing, stored here per tenant. */
    markupBps: integer('markup_bps').notNull().default(0),
    /** Limits: null = unlimited. Enforced inside the hold's single conditional UPDATE. */
    maxConcurrentJobs: integer('max_concurrent_jobs'),
    dailySpendLimitMicroCents: money('daily_spend_limit_micro_cents'),
    requestsPerMinute: integer('requests_per_minute'),
    /** Default URL tollgate notifies when this tenant's jobs finish; null = no notifications. */
    webhookUrl: text('webhook_url'),
    /**
     * Standard Webhooks signing secret of tollgate → tenant webhooks: `whsec_` + base64 of the HMAC
     * key (32 random bytes; tenants created before migration 0019 keep their 24). Null = none.
     */
    webhookSecret: text('webhook_secret'),
    /** `live` (a real tenant) or `test` (the sandbox twin of `live_tenant_id`). Never changes. */
    mode: tenantMode('mode').notNull().default('live'),
    /** For a `test` row: the live tenant it is the sandbox of; null for live rows. */
    liveTenantId: text('live_tenant_id').references((): AnyPgColumn => tenants.id),
    /**
     * The secret replaced by the last rotation, still signing beside the new one until
     * `previousWebhookSecretExpiresAt` (grace period) so receivers can switch without losing events.
     */
    previousWebhookSecret: text('previous_webhook_secret'),
    previousWebhookSecretExpiresAt: tstz('previous_webhook_secret_expires_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('tenants_created_at_idx').on(t.createdAt.desc(), t.id.desc()),
    uniqueIndex('tenants_live_tenant_idx').on(t.liveTenantId),
    // The book is readable from the id: live rows are `ten_…`; a test row is `tst_` + its live twin's suffix.
    check(
      'tenants_mode_check',
      sql`(${t.mode} = 'live' AND ${t.liveTenantId} IS NULL AND left(${t.id}, 4) = 'ten_')
        OR (${t.mode} = 'test' AND ${t.liveTenantId} IS NOT NULL AND ${t.id} = 'tst_' || substr(${t.liveTenantId}, 5))`,
    ),
    check('tenants_markup_bps_check', sql`${t.markupBps} >= 0`),
    check(
      'tenants_max_concurrent_jobs_check',
      sql`${t.maxConcurrentJobs} IS NULL OR ${t.maxConcurrentJobs} >= 0`,
    ),
    check(
      'tenants_daily_spend_limit_check',
      sql`${t.dailySpendLimitMicroCents} IS NULL OR ${t.dailySpendLimitMicroCents} >= 0`,
    ),
    check(
      'tenants_requests_per_minute_check',
      sql`${t.requestsPerMinute} IS NULL OR ${t.requestsPerMinute} >= 0`,
    ),
  ],
);

/**
 * Cached per-tenant balances plus the counters the limits need. One row per tenant, created with the
 * tenant. Changed only by conditional single-statement UPDATEs in the same transaction as the ledger
 * lines, so it always equals the sum of the tenant's lines (checked by `reconcile`).
 */
export const tenantBalances = pgTable(
  'tenant_balances',
  {
    tenantId: text('tenant_id')
      .primaryKey()
      .references(() => tenants.id),
    /** Money the tenant can spend now (account tenant_available). */
    availableMicroCents: money('available_micro_cents').notNull().default(sql`0`),
    /** Money reserved by open holds (account tenant_held). */
    heldMicroCents: money('held_micro_cents').notNull().default(sql`0`),
    /** Jobs (or job-less holds) not yet in a terminal state; checked against max_concurrent_jobs. */
    activeJobs: integer('active_jobs').notNull().default(0),
    /** UTC day that spend_today_micro_cents refers to (DB clock); null = nothing spent yet. */
    spendDay: date('spend_day', { mode: 'string' }),
    /** Money held on spend_day, minus what was released/refunded from holds of that same day. */
    spendTodayMicroCents: money('spend_today_micro_cents').notNull().default(sql`0`),
    /** Start of the current fixed one-minute rate window (DB clock, truncated to the minute). */
    rateWindowStart: tstz('rate_window_start'),
    /** Holds opened in the current rate window. */
    rateWindowCount: integer('rate_window_count').notNull().default(0),
    /**
     * A `balance.low` webhook is enqueued each time available_micro_cents goes from ≥ this to below
     * it (trigger of migration 0019, in the transaction that moves the money); null = never. A tenant
     * setting, kept on this row so the crossing is decided by the very UPDATE that changes the balance.
     */
    lowBalanceThresholdMicroCents: money('low_balance_threshold_micro_cents'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('tenant_balances_available_check', sql`${t.availableMicroCents} >= 0`),
    check('tenant_balances_held_check', sql`${t.heldMicroCents} >= 0`),
    check('tenant_balances_active_jobs_check', sql`${t.activeJobs} >= 0`),
    check('tenant_balances_spend_today_check', sql`${t.spendTodayMicroCents} >= 0`),
    check('tenant_balances_rate_window_count_check', sql`${t.rateWindowCount} >= 0`),
    check(
      'tenant_balances_low_balance_threshold_check',
      sql`${t.lowBalanceThresholdMicroCents} IS NULL OR ${t.lowBalanceThresholdMicroCents} >= 0`,
    ),
  ],
);

export const jobs = pgTable(
  'jobs',
  {
    /** `job_…` (ours; the upstream id is upstream_job_id). */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    model: text('model').notNull(),
    /** The validated, normalised input as sent upstream. */
    input: jsonb('input').notNull(),
    status: jobStatus('status').notNull().default('submitting'),
    /** The quote the tenant is charged (list price × markup, rounded up once). */
    costMicroCents: money('cost_micro_cents').notNull(),
    /** Pixelbyte list price at submit (what upstream should charge the operator). */
    listCostMicroCents: money('list_cost_micro_cents').notNull(),
    priceVersion: text('price_version').notNull(),
    /** Pixelbyte's job id. Unique: one upstream job is linked to at most one of ours (the operator pays for it once). */
    upstreamJobId: text('upstream_job_id'),
    /**
     * An upstream id Pixelbyte's answer named for this job while another of our jobs already held it
     * (one upstream job for two of ours). Not stored as upstream_job_id and never captured: the job
     * stays `unknown` (flagged needs_review) and is resolved like any unknown outcome; reconcile lists it.
     */
    collidedUpstreamJobId: text('collided_upstream_job_id'),
    /**
     * When Pixelbyte answered our cancel with `cancelled`. The money moves only on what a later read of
     * the job says; a read that says anything but `cancelled` is a disagreement, flagged needs_review.
     */
    cancelAnsweredAt: tstz('cancel_answered_at'),
    /** What Pixelbyte said it charged; null until accepted. */
    upstreamCostMicroCents: money('upstream_cost_micro_cents'),
    /** upstream_cost_micro_cents ≠ list_cost_micro_cents: finance must look. */
    costMismatch: boolean('cost_mismatch').notNull().default(false),
    /** Refunded to the tenant after a capture (failed/cancelled upstream); 0 = none. */
    refundedMicroCents: money('refunded_micro_cents').notNull().default(sql`0`),
    output: text('output'),
    outputs: jsonb('outputs'),
    /** `{ code, message }` of the failure; null otherwise. */
    error: jsonb('error'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** Per-job tenant webhook URL (overrides the tenant's default). */
    webhookUrl: text('webhook_url'),
    /**
     * Tenant-scoped idempotency key; null = not idempotent, or released (see below). Unique per
     * tenant through a plain unique index (NULLs are distinct), so clearing it frees the key.
     */
    idempotencyKey: text('idempotency_key'),
    /**
     * The key this job held before a definitive upstream rejection released it (releaseJob on a
     * `submitting` job: hold released, nothing charged, nothing created upstream), kept for audit.
     * A retry with the same key then makes a fresh attempt. Unknown outcomes never release it.
     */
    releasedIdempotencyKey: text('released_idempotency_key'),
    /** Hash of the request: same key + different fingerprint = IDEMPOTENCY_CONFLICT. */
    fingerprint: text('fingerprint').notNull(),
    /** The hold paying for this job (FK added DEFERRABLE in the custom migration: the job row claims the idempotency key before its hold exists). */
    holdId: text('hold_id').notNull(),
    /** An outcome money-wise uncertain (unknown upstream outcome expired): finance must review. */
    needsReview: boolean('needs_review').notNull().default(false),
    /** When a poller should next ask upstream (DB clock); null = never (terminal). */
    nextPollAt: tstz('next_poll_at'),
    pollAttempts: integer('poll_attempts').notNull().default(0),
    /** Past this instant the job must not be non-terminal (reconcile flags it). */
    deadlineAt: tstz('deadline_at').notNull(),
    estimatedCompletionTime: tstz('estimated_completion_time'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
    completedAt: tstz('completed_at'),
  },
  (t) => [
    uniqueIndex('jobs_tenant_idempotency_key_idx').on(t.tenantId, t.idempotencyKey),
    index('jobs_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index('jobs_tenant_status_created_idx').on(t.tenantId, t.status, t.createdAt.desc(), t.id.desc()),
    index('jobs_status_created_idx').on(t.status, t.createdAt.desc(), t.id.desc()),
    index('jobs_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('jobs_poll_idx').on(t.nextPollAt).where(sql`${t.status} IN (${IN_FLIGHT_JOB_STATUS_LIST})`),
    uniqueIndex('jobs_upstream_job_id_idx').on(t.upstreamJobId),
    uniqueIndex('jobs_hold_idx').on(t.holdId),
    check('jobs_cost_check', sql`${t.costMicroCents} > 0 AND ${t.listCostMicroCents} >= 0`),
    check(
      'jobs_refund_check',
      sql`${t.refundedMicroCents} >= 0 AND ${t.refundedMicroCents} <= ${t.costMicroCents}`,
    ),
  ],
);

/**
 * Money reserved for one job (or, in tests, for a bare hold). Status changes only by conditional
 * UPDATE `WHERE status = 'open'`, so a hold resolves exactly once; refund `WHERE refunded_at IS NULL`.
 */
export const holds = pgTable(
  'holds',
  {
    /** `hold_…` */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** The job this hold pays for; null for a bare hold (generic ledger API). */
    jobId: text('job_id').references(() => jobs.id),
    amountMicroCents: money('amount_micro_cents').notNull(),
    status: holdStatus('status').notNull().default('open'),
    /** Charged on capture (≤ amount; the rest was released in the same transaction). */
    capturedMicroCents: money('captured_micro_cents'),
    /** Refunded after capture (the whole captured amount); null = not refunded. */
    refundedMicroCents: money('refunded_micro_cents'),
    refundedAt: tstz('refunded_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    resolvedAt: tstz('resolved_at'),
  },
  (t) => [
    index('holds_tenant_status_idx').on(t.tenantId, t.status),
    index('holds_job_idx').on(t.jobId),
    check('holds_amount_positive_check', sql`${t.amountMicroCents} > 0`),
    check(
      'holds_resolution_check',
      sql`(${t.status} = 'open') = (${t.resolvedAt} IS NULL)
        AND (${t.status} = 'captured') = (${t.capturedMicroCents} IS NOT NULL)
        AND (${t.capturedMicroCents} IS NULL OR (${t.capturedMicroCents} >= 0 AND ${t.capturedMicroCents} <= ${t.amountMicroCents}))
        AND (${t.refundedAt} IS NULL OR ${t.status} = 'captured')
        AND (${t.refundedAt} IS NULL) = (${t.refundedMicroCents} IS NULL)`,
    ),
  ],
);

/**
 * One money movement. Append-only (a trigger rejects UPDATE/DELETE/TRUNCATE), and a deferred
 * constraint trigger rejects a commit where its lines do not sum to zero.
 */
export const ledgerTransactions = pgTable(
  'ledger_transactions',
  {
    /** `txn_…` */
    id: text('id').primaryKey(),
    kind: ledgerKind('kind').notNull(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** Set for hold/capture/release/refund. */
    holdId: text('hold_id').references(() => holds.id),
    /** Set when the movement belongs to a job. */
    jobId: text('job_id').references(() => jobs.id),
    /**
     * Globally unique: claiming it is what makes every operation idempotent. Callers' keys for
     * top-ups/adjustments; derived keys (`capture:<holdId>`, …) for hold resolutions, so a second
     * resolution of the same hold cannot even be inserted.
     */
    idempotencyKey: text('idempotency_key').notNull(),
    /** Canonical JSON of the operation's arguments: a replay with different arguments is a conflict. */
    requestFingerprint: text('request_fingerprint').notNull(),
    /** External reference of a top-up (payment id, invoice…). */
    reference: text('reference'),
    /** Human reason of an adjustment (or of an automatic release/refund). */
    reason: text('reason'),
    /** Principal that caused the movement (`sub` of the JWT, or `system:<worker>`). */
    actor: text('actor').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('ledger_transactions_idempotency_key_idx').on(t.idempotencyKey),
    // Target of ledger_lines' (transaction_id, tenant_id) foreign key: one tenant per transaction.
    unique('ledger_transactions_id_tenant_key').on(t.id, t.tenantId),
    index('ledger_transactions_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index('ledger_transactions_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('ledger_transactions_hold_idx').on(t.holdId),
    index('ledger_transactions_job_idx').on(t.jobId),
    // A top-up's reference is its identity: one top-up per tenant and reference (credits.ts topUp).
    uniqueIndex('ledger_transactions_top_up_reference_idx')
      .on(t.tenantId, t.reference)
      .where(sql`${t.kind} = 'top_up'`),
  ],
);

/** The postings of a transaction. Append-only; amounts are signed and never zero. */
export const ledgerLines = pgTable(
  'ledger_lines',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    transactionId: text('transaction_id')
      .notNull()
      .references(() => ledgerTransactions.id),
    account: ledgerAccount('account').notNull(),
    /** The tenant for tenant_* accounts; null for platform_* accounts. */
    tenantId: text('tenant_id').references(() => tenants.id),
    /** Signed: + credits the account, − debits it. */
    amountMicroCents: money('amount_micro_cents').notNull(),
    /** Cached balance of this tenant account right after this line (statement running balance); null for platform accounts. */
    balanceAfterMicroCents: money('balance_after_micro_cents'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('ledger_lines_transaction_idx').on(t.transactionId),
    // MONEY: a tenant line belongs to its transaction's tenant (platform lines, tenant_id null, are
    // not checked: MATCH SIMPLE). Every transaction therefore moves one tenant's money, so test money
    // (a `tst_` tenant's) can never reach a live tenant's accounts, nor one tenant's another's.
    foreignKey({
      name: 'ledger_lines_transaction_tenant_fk',
      columns: [t.transactionId, t.tenantId],
      foreignColumns: [ledgerTransactions.id, ledgerTransactions.tenantId],
    }),
    index('ledger_lines_tenant_account_idx').on(t.tenantId, t.account),
    // Statements (per tenant) and finance exports (all lines), newest first with a (created_at, id) cursor.
    index('ledger_lines_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index('ledger_lines_created_idx').on(t.createdAt.desc(), t.id.desc()),
    check('ledger_lines_amount_nonzero_check', sql`${t.amountMicroCents} <> 0`),
    check(
      'ledger_lines_tenant_scope_check',
      sql`(${t.account} IN ('tenant_available', 'tenant_held')) = (${t.tenantId} IS NOT NULL)`,
    ),
    check(
      'ledger_lines_balance_after_check',
      sql`${t.balanceAfterMicroCents} IS NULL OR ${t.balanceAfterMicroCents} >= 0`,
    ),
  ],
);

/** Book a usage roll-up row belongs to: live money, or (test mode) the sandbox's. */
export const USAGE_MODES = ['live', 'test'] as const;
export type UsageMode = (typeof USAGE_MODES)[number];

/**
 * The counters of a usage roll-up row. Money follows the ledger's capture / refund transactions,
 * dated by the transaction (UTC day); job counts follow the jobs, dated by their creation (UTC day),
 * counted by their current status.
 */
const usageCounters = {
  /** Jobs created that day. */
  jobs: bigint('jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  completedJobs: bigint('completed_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  failedJobs: bigint('failed_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  cancelledJobs: bigint('cancelled_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  rejectedJobs: bigint('rejected_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  inFlightJobs: bigint('in_flight_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  /** Σ platform_revenue lines of capture transactions that day. */
  chargedMicroCents: money('charged_micro_cents').notNull().default(sql`0`),
  /** −Σ platform_revenue lines of refund transactions that day. */
  refundedMicroCents: money('refunded_micro_cents').notNull().default(sql`0`),
  /** Upstream cost of the jobs captured that day, minus what Pixelbyte refunded the operator that day. */
  upstreamCostMicroCents: money('upstream_cost_micro_cents').notNull().default(sql`0`),
  /**
   * Jobs captured that day whose upstream cost is unknown (never learned) and that Pixelbyte did not
   * refund, and what they were charged: their upstream cost counts as 0, so the margin includes them.
   */
  upstreamCostUnknownJobs: bigint('upstream_cost_unknown_jobs', { mode: 'bigint' }).notNull().default(sql`0`),
  upstreamCostUnknownChargedMicroCents: money('upstream_cost_unknown_charged_micro_cents')
    .notNull()
    .default(sql`0`),
};

/**
 * Daily usage roll-up: one row per tenant × model × UTC day × mode, kept exact by triggers in the
 * SAME transaction as the money movement or job transition it counts (migration
 * 0017_usage_rollup_triggers), so it never lags the ledger; `reconcile` proves it equals the
 * ledger (USAGE_ROLLUP_MISMATCH). `finance.usage` and `usage.csv` read it, never the ledger, so a
 * report costs what it returns, not what the ledger holds. `model` is '' for money of a hold
 * without a job (the generic ledger API); the reports show it as null.
 */
export const usageDaily = pgTable(
  'usage_daily',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    model: text('model').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    mode: text('mode', { enum: USAGE_MODES }).notNull().default('live'),
    ...usageCounters,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.model, t.day, t.mode] }),
    // Reports read a period of days of one mode, whatever the tenant.
    index('usage_daily_mode_day_idx').on(t.mode, t.day),
    check('usage_daily_mode_check', sql`${t.mode} IN ('live', 'test')`),
  ],
);

/**
 * The same roll-up split by job tag: a job counts once under each of its distinct tags, or once
 * under tag '' (shown as null) when it has none, so `groupBy: ['tag']` also reads a roll-up.
 * Rows of different tags overlap (a job with two tags is in both): totals come from usage_daily.
 */
export const usageDailyTags = pgTable(
  'usage_daily_tags',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    model: text('model').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    mode: text('mode', { enum: USAGE_MODES }).notNull().default('live'),
    tag: text('tag').notNull(),
    ...usageCounters,
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.model, t.day, t.mode, t.tag] }),
    index('usage_daily_tags_mode_day_idx').on(t.mode, t.day),
    check('usage_daily_tags_mode_check', sql`${t.mode} IN ('live', 'test')`),
  ],
);

/** Delivery of one tollgate → tenant webhook: pending → delivered | failed (gave up). */
export const webhookDeliveryStatus = pgEnum('webhook_delivery_status', ['pending', 'delivered', 'failed']);

/**
 * Outbox of tollgate → tenant webhooks (Standard Webhooks messages; the row id is `webhook-id`).
 * Job events: one row per job that reached a terminal state asynchronously and has a webhook URL,
 * inserted by a trigger on `jobs` (migration 0005_tenant_webhook_outbox) in the SAME transaction as
 * the terminal transition, whichever code made it (ledger, admin resolve…), so no terminal job is
 * forgotten across a crash. `balance.low`: a trigger on `tenant_balances` (migration 0019), same
 * transaction as the money. `limit.reached`: the submit service after a refusal. Gateway workers
 * claim due rows with FOR UPDATE SKIP LOCKED (a lease on next_attempt_at), send outside any
 * transaction, then record the result. Never touches money.
 */
export const tenantWebhookDeliveries = pgTable(
  'tenant_webhook_deliveries',
  {
    /** `whd_…` */
    id: text('id').primaryKey(),
    /** Job events: one delivery per job (a job reaches exactly one terminal state). Null for tenant events. */
    jobId: text('job_id').references(() => jobs.id),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    /** `job.completed` | `job.failed` | `job.cancelled` | `job.rejected` | `balance.low` | `limit.reached`. */
    eventType: text('event_type').notNull(),
    /**
     * `data` of a tenant event, fixed when it happened (`livemode` is added at send time); null for
     * job events, whose data is the job as `jobs.get` shows it, read at send time (it is terminal).
     */
    payload: jsonb('payload'),
    /** Set for events that must not repeat (limit.reached: tenant, limit, time window); unique. */
    dedupKey: text('dedup_key'),
    /** `attempts` when the current round began (0; the count at the last redelivery): the retry budget counts from here. */
    retryFrom: integer('retry_from').notNull().default(0),
    /** Where to POST: the job's webhook_url, else the tenant's default, resolved at the transition. */
    url: text('url').notNull(),
    status: webhookDeliveryStatus('status').notNull().default('pending'),
    /** Attempts started (incremented when a worker claims the row). */
    attempts: integer('attempts').notNull().default(0),
    /** Pending: when a worker may (re)try; while an attempt is in flight, the end of its lease. Null once settled. */
    nextAttemptAt: tstz('next_attempt_at').defaultNow(),
    lastAttemptAt: tstz('last_attempt_at'),
    /** HTTP status of the last answer; null = no answer (timeout, connection refused) or not tried. */
    lastStatusCode: integer('last_status_code'),
    /** Why the last attempt failed (never the secret or the body). */
    lastError: text('last_error'),
    deliveredAt: tstz('delivered_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('tenant_webhook_deliveries_job_idx').on(t.jobId),
    uniqueIndex('tenant_webhook_deliveries_dedup_idx').on(t.dedupKey),
    index('tenant_webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('tenant_webhook_deliveries_tenant_created_idx').on(t.tenantId, t.createdAt.desc()),
    check('tenant_webhook_deliveries_attempts_check', sql`${t.attempts} >= 0`),
  ],
);

/** Runtime price overrides set by admins; the newest effective rule per model wins. */
export const priceOverrides = pgTable(
  'price_overrides',
  {
    id: text('id').primaryKey(),
    model: text('model').notNull(),
    /** The pricing rule (base + factor tables) in pricing's JSON shape. */
    rule: jsonb('rule').notNull(),
    priceVersion: text('price_version').notNull(),
    effectiveFrom: tstz('effective_from').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('price_overrides_model_effective_idx').on(t.model, t.effectiveFrom.desc())],
);

/** Mode of a credential: `test` keys (`tg_test_…`) will work against the sandbox (test mode). */
// The value lists are plain tuples so the types derived from them (KeyMode, OperatorRole) need no
// drizzle: they reach @tollgate/client's bundled .d.ts through the key procedures' outputs.
export const KEY_MODES = ['live', 'test'] as const;
export const keyMode = pgEnum('key_mode', KEY_MODES);

/** Role of an operator key (`tg_op_…`): admin (everything) or finance (reports, read-only). */
export const OPERATOR_ROLES = ['admin', 'finance'] as const;
export const operatorRole = pgEnum('operator_role', OPERATOR_ROLES);

/**
 * Tenant API keys (`tg_live_…` / `tg_test_…`). SECURITY: the key itself is never stored, only the
 * SHA-256 of the whole key (hex); it is shown once, at creation. Rows are never deleted (revocation
 * sets revoked_at), so audit rows naming a key id keep resolving.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    /** `key_…` (not secret: safe in lists, logs and audit rows). */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    /** Matches the key's prefix: live = `tg_live_`, test = `tg_test_`. */
    mode: keyMode('mode').notNull(),
    /** The first 12 characters of the key, to recognise it in lists (`tg_live_AbCd`). */
    prefix: text('prefix').notNull(),
    /** Lower-case hex SHA-256 of the whole key. */
    keyHash: text('key_hash').notNull(),
    /** Who created it (the actor: a JWT sub or a key id). */
    createdBy: text('created_by').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    /** Last successful authentication, written at most once a minute per key; null = never used. */
    lastUsedAt: tstz('last_used_at'),
    /** Null = never expires. */
    expiresAt: tstz('expires_at'),
    /** Null = active. */
    revokedAt: tstz('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_idx').on(t.keyHash),
    index('api_keys_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
  ],
);

/** Operator keys (`tg_op_…`) for the people and scripts acting as admin or finance; same storage rules as api_keys. */
export const operatorKeys = pgTable(
  'operator_keys',
  {
    /** `opk_…`, recorded (with the name) as the actor of what the key does. */
    id: text('id').primaryKey(),
    /** Who holds it (a person or a script), recorded in audit rows as actor_name. */
    name: text('name').notNull(),
    role: operatorRole('role').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    lastUsedAt: tstz('last_used_at'),
    expiresAt: tstz('expires_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [
    uniqueIndex('operator_keys_key_hash_idx').on(t.keyHash),
    index('operator_keys_created_idx').on(t.createdAt.desc(), t.id.desc()),
  ],
);

/** Append-only record of admin actions (a trigger rejects UPDATE/DELETE). */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    actor: text('actor').notNull(),
    /**
     * The name behind the actor when it is a key (operator key or tenant API key), filled by a
     * trigger from the key row when the row is written; null for JWT subjects and system actors.
     */
    actorName: text('actor_name'),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('audit_log_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.createdAt.desc()),
  ],
);

export type Tenant = typeof tenants.$inferSelect;
export type TenantBalance = typeof tenantBalances.$inferSelect;
export type LedgerTransaction = typeof ledgerTransactions.$inferSelect;
export type LedgerLine = typeof ledgerLines.$inferSelect;
export type Hold = typeof holds.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type PriceOverride = typeof priceOverrides.$inferSelect;
export type UsageDailyRow = typeof usageDaily.$inferSelect;
export type AuditLogEntry = typeof auditLog.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type OperatorKey = typeof operatorKeys.$inferSelect;
export type KeyMode = (typeof KEY_MODES)[number];
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
export type TenantWebhookDelivery = typeof tenantWebhookDeliveries.$inferSelect;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatus.enumValues)[number];
export type TenantStatus = (typeof tenantStatus.enumValues)[number];
export type TenantMode = (typeof tenantMode.enumValues)[number];
export type JobStatus = (typeof jobStatus.enumValues)[number];
export type HoldStatus = (typeof holdStatus.enumValues)[number];
export type LedgerKind = (typeof ledgerKind.enumValues)[number];
export type LedgerAccount = (typeof ledgerAccount.enumValues)[number];
