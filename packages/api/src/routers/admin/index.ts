import { router } from '../../trpc.ts';
import { creditsRouter } from './credits.ts';
import { tenantsRouter } from './tenants.ts';

/** Admin procedures. This issue ships tenants.{create,issueToken} and credits.topUp; the rest land beside these files. */
export const adminRouter = router({
  tenants: tenantsRouter,
  credits: creditsRouter,
});
