import { z } from 'zod';
import { quoteForTenant } from '../services/pricing.ts';
import { pricedTenantProcedure, router } from '../trpc.ts';

export const quoteInput = z.strictObject({
  model: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()),
});

export const pricingRouter = router({
  quote: pricedTenantProcedure.input(quoteInput).query(({ ctx, input }) => quoteForTenant({ ctx, input })),
});
