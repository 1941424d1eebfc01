// `@tollgate/db/ledger`: the only code that moves money. Every operation is one DB transaction,
// takes `db` first, returns business outcomes as values and throws only on bugs or infrastructure.

export {
  type AdvanceJobInput,
  advanceJob,
  flagUnknownJobForReview,
  markJobUnknown,
  recordCancelAnswered,
  type UpstreamJobState,
} from './advance';
export { type CaptureJobInput, captureJob } from './capture';
export { claimJobsToPoll, claimOverdueJobs } from './claims';
export {
  type AdjustInput,
  type AdjustResult,
  adjust,
  type CreditResult,
  type TopUpInput,
  topUp,
} from './credits';
export type { CaptureResult, RefundResult, ReleaseResult, ResolveRefusal } from './hold-resolution';
/** The list cursors' format (created_at, id), for lists built outside this package (admin lists). */
export { cursorTime, decodeCursor, encodeCursor, PG_BIGINT_MAX } from './internal';
export { DEFAULT_MAX_DURATION_SECONDS, ENDED_BY_TOLLGATE, isTerminal, type JobError } from './job-row';
export type { HoldRefusal } from './limits';
export { type OpenJobInput, type OpenJobResult, openJob } from './open';
export { getHold, getJob, type ListJobsInput, listJobs, secondsUntilFirstJobEnds } from './reads';
export {
  type Discrepancy,
  type DiscrepancyKind,
  type ReconcileResult,
  type ReviewFlag,
  reconcile,
} from './reconcile';
export { type ResolveJobInput, type ResolveJobResult, resolveJob } from './resolve';
export { type EnsureSandboxResult, ensureSandbox, resetSandboxBalance } from './sandbox';
export {
  type ExpireUnknownJobResult,
  expireOverdueJob,
  expireUnknownJob,
  type ReleaseJobInput,
  releaseJob,
} from './settle';
export { type LedgerEntry, type ListLedgerInput, listLedger } from './statement';
export {
  type Account,
  type CreateTenantInput,
  createTenant,
  getAccount,
  getRateWindow,
  getTenant,
  type ListTenantsInput,
  listTenants,
  newWebhookSecret,
  type RateWindow,
  type SetTenantStatusInput,
  setTenantStatus,
  type TenantLimits,
  type TenantResult,
  tenantLimits,
  type UpdateTenantInput,
  updateTenant,
} from './tenants';
