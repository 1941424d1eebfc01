// `@tollgate/db/ledger`: the only code that moves money. Every operation is one DB transaction,
// takes `db` first, returns business outcomes as values and throws only on bugs or infrastructure.
export {
  type AdjustInput,
  type AdjustResult,
  adjust,
  type CreditResult,
  type TopUpInput,
  topUp,
} from './credits';
export {
  type CaptureInput,
  type CaptureResult,
  capture,
  getHold,
  type HoldInput,
  type HoldRefusal,
  type HoldResult,
  hold,
  type RefundResult,
  type ReleaseInput,
  type ReleaseResult,
  type ResolveRefusal,
  refund,
  release,
} from './holds';
export {
  type Discrepancy,
  type DiscrepancyKind,
  type ReconcileResult,
  type ReviewFlag,
  reconcile,
} from './reconcile';
export {
  type Account,
  type CreateTenantInput,
  createTenant,
  getAccount,
  getTenant,
  type ListTenantsInput,
  listTenants,
  type SetTenantStatusInput,
  setTenantStatus,
  type TenantLimits,
  type TenantResult,
  tenantLimits,
  type UpdateTenantInput,
  updateTenant,
} from './tenants';
