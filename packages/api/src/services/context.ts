import type { Principal } from '../auth/jwt.ts';
import type { TenantRecord } from '../auth/tenant.ts';
import type { AppDeps } from '../deps.ts';
import type { Logger } from '../logger.ts';
import type { InForceOverrides } from './catalogue.ts';

/**
 * What a service reports beyond its result, for a transport that answers differently on it: the REST
 * API answers a submit that replayed an idempotency key with 200 and a new job with 201 (tRPC returns
 * the same job either way), and sends RateLimit headers only to a tenant with a per-minute limit.
 * Only present when the caller passes one (rest/routes.ts).
 */
export type ResponseFacts = {
  replayed?: boolean;
  /** The submitting tenant's requests-per-minute limit (null: none), for REST's RateLimit headers. */
  requestsPerMinute?: number | null;
};

/** What services get: plain values, nothing of Hono or tRPC (a tRPC ctx is a superset of these). */
export type ServiceCtx = { deps: AppDeps; requestId: string; log: Logger; facts?: ResponseFacts | undefined };
export type PrincipalCtx = ServiceCtx & { principal: Principal };
export type TenantCtx = ServiceCtx & { principal: Principal; tenant: TenantRecord };
/** A tenant request whose price overrides were read with its tenant row (trpc.ts `pricedTenantProcedure`). */
export type PricedTenantCtx = TenantCtx & { pricing: InForceOverrides };

/** The actor recorded for automatic actions (ledger `actor`, audit rows). */
export const SYSTEM_ACTOR = {
  submit: 'system:submit',
  webhook: 'system:webhook',
  poller: 'system:poller',
  unknownResolver: 'system:unknown-resolver',
} as const;
