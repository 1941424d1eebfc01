import { tenants } from '@tollgate/db';
import type { Db } from '@tollgate/db/client';
import { eq } from 'drizzle-orm';
import { DomainError } from '../errors.ts';

/** What a tenant-role request knows about its caller (loaded fresh on every call: suspension is immediate). */
export type TenantRecord = {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  markupBps: number;
};

/**
 * SECURITY: a valid token is not enough — the tenant must still exist and be active. One primary-key
 * lookup per tenant request; a suspended tenant's tokens stop working at once, with no token revocation list.
 */
export async function loadTenantForRequest(db: Db, tenantId: string): Promise<TenantRecord> {
  const rows = await db
    .select({ id: tenants.id, name: tenants.name, status: tenants.status, markupBps: tenants.markupBps })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
  const tenant = rows[0];
  if (!tenant) {
    throw new DomainError({
      code: 'UNAUTHORIZED',
      reason: 'UNKNOWN_TENANT',
      message: 'the token names a tenant that does not exist',
    });
  }
  if (tenant.status !== 'active') {
    throw new DomainError({
      code: 'FORBIDDEN',
      reason: 'TENANT_SUSPENDED',
      message: 'this tenant is suspended',
    });
  }
  return tenant;
}
