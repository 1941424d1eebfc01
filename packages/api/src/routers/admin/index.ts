import { reconcileAsAdmin } from '../../services/admin/reconcile.ts';
import { adminProcedure, router } from '../../trpc.ts';
import { auditRouter } from './audit.ts';
import { creditsRouter } from './credits.ts';
import { adminJobsRouter } from './jobs.ts';
import { pricesRouter } from './prices.ts';
import { tenantsRouter } from './tenants.ts';

/** Admin procedures (role admin). Every mutation writes exactly one audit row in its own transaction. */
export const adminRouter = router({
  tenants: tenantsRouter,
  credits: creditsRouter,
  prices: pricesRouter,
  jobs: adminJobsRouter,
  audit: auditRouter,
  reconcile: adminProcedure.query(({ ctx }) => reconcileAsAdmin({ ctx })),
});
