import { DomainError } from '../errors.ts';
import { type Authenticator, invalidKeyError } from './authenticator.ts';
import { type AuthResult, bearerToken, type Principal } from './jwt.ts';

/**
 * Who may call a set of routes, for every way in: the tRPC base procedures (trpc.ts, and REST through
 * them) and the CSV routes (reports/routes.ts) take their roles, and refuse, through the one
 * `requireRole` below, so a caller gets the same reason, status and message on every transport.
 */
export type RoleRequirement<P extends Principal = Principal> = {
  /** Named in the WRONG_ROLE message. */
  name: string;
  accepts: (principal: Principal) => principal is P;
};

export type TenantPrincipal = Extract<Principal, { role: 'tenant' }>;

export const TENANT_ROLE: RoleRequirement<TenantPrincipal> = {
  name: 'tenant',
  accepts: (p): p is TenantPrincipal => p.role === 'tenant',
};

export const ADMIN_ROLE: RoleRequirement = {
  name: 'admin',
  accepts: (p): p is Principal => p.role === 'admin',
};

/** Finance reports: finance or admin role. */
export const FINANCE_ROLE: RoleRequirement = {
  name: 'finance',
  accepts: (p): p is Principal => p.role === 'finance' || p.role === 'admin',
};

/**
 * The verification of a request's Authorization header: null without one, INVALID_TOKEN for another
 * scheme than Bearer, else what the authenticator says (`deps.auth`, the one authentication function).
 */
export async function authenticateHeader(
  auth: Authenticator,
  header: string | null | undefined,
): Promise<AuthResult | null> {
  const token = bearerToken(header);
  if (token) return auth.verify(token);
  if (header)
    return { ok: false, reason: 'INVALID_TOKEN', message: 'Authorization must be "Bearer <token>"' };
  return null;
}

/**
 * The caller, if authenticated with a role `required` accepts. Else: 401 MISSING_TOKEN without
 * credentials, the authentication's own 401 when it failed, and 403 WRONG_ROLE for a role that does
 * not fit — except a tenant API key that is revoked or expired: INVALID_CREDENTIALS, as everywhere
 * (the authenticator trusts which tenant a key belongs to and leaves its validity to the tenant read,
 * which a non-tenant route does not make). Only tenants have API keys, so on a tenant route this is
 * always WRONG_ROLE, without a read.
 */
export async function requireRole<P extends Principal>(
  auth: Authenticator,
  result: AuthResult | null,
  required: RoleRequirement<P>,
): Promise<P> {
  if (result === null) throw new DomainError({ reason: 'MISSING_TOKEN' });
  if (!result.ok) throw new DomainError({ reason: result.reason, message: result.message });
  const principal = result.principal;
  if (required.accepts(principal)) return principal;
  if (principal.key?.kind === 'api_key' && !(await auth.isKeyValid(principal.key))) throw invalidKeyError();
  throw new DomainError({ reason: 'WRONG_ROLE', message: `this procedure needs the ${required.name} role` });
}
