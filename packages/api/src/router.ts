import { accountRouter } from './routers/account.ts';
import { adminRouter } from './routers/admin/index.ts';
import { financeRouter } from './routers/finance.ts';
import { jobsRouter } from './routers/jobs.ts';
import { modelsRouter } from './routers/models.ts';
import { pricingRouter } from './routers/pricing.ts';
import { router } from './trpc.ts';

/** The whole tRPC API (product.md "tRPC API"). */
export const appRouter = router({
  models: modelsRouter,
  pricing: pricingRouter,
  jobs: jobsRouter,
  account: accountRouter,
  admin: adminRouter,
  finance: financeRouter,
});

export type AppRouter = typeof appRouter;
