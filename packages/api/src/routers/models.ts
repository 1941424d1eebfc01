import { listModelsForTenant } from '../services/pricing.ts';
import { router, tenantProcedure } from '../trpc.ts';

export const modelsRouter = router({
  list: tenantProcedure.query(({ ctx }) => listModelsForTenant({ ctx })),
});
