import { reconcileAsAdmin } from '../../services/admin/reconcile.ts';
import { financeProcedure, router } from '../../trpc.ts';
import { auditRouter } from './audit.ts';
import { creditsRouter } from './credits.ts';
import { adminJobsRouter } from './jobs.ts';
import { adminKeysRouter } from './keys.ts';
import { operatorsRouter } from './operators.ts';
import { pricesRouter } from './prices.ts';
import { tenantsRouter } from './tenants.ts';

/** Admin procedures (role admin). Every mutation writes exactly one audit row in its own transaction. */
export const adminRouter = router({
  tenants: tenantsRouter,
  credits: creditsRouter,
  prices: pricesRouter,
  jobs: adminJobsRouter,
  audit: auditRouter,
  keys: adminKeysRouter,
  operators: operatorsRouter,
  // Read-only, and the proof finance signs off on (product.md: Finance runs the reconciliation):
  // finance tokens may call it too, under its admin name.
  reconcile: financeProcedure.query(({ ctx }) => reconcileAsAdmin({ ctx })),
});
