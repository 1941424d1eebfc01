import { z } from 'zod';
import { balancesReport } from '../services/finance/balances.ts';
import { ledgerReport } from '../services/finance/ledger.ts';
import { USAGE_DIMENSIONS, usageReport } from '../services/finance/usage.ts';
import { cursorSchema, idSchema, instantSchema as instant } from '../services/wire.ts';
import { financeProcedure, router } from '../trpc.ts';

/** Finance reports (role finance or admin). Periods are [from, to) on the DB's timestamps, days are UTC. */
export const financeRouter = router({
  usage: financeProcedure
    .input(
      z.strictObject({
        from: instant,
        to: instant,
        groupBy: z.array(z.enum(USAGE_DIMENSIONS)).max(4).default(['tenant', 'model', 'day']),
      }),
    )
    .query(({ ctx, input }) => usageReport({ ctx, input })),
  balances: financeProcedure.query(({ ctx }) => balancesReport({ ctx })),
  ledger: financeProcedure
    .input(
      z.strictObject({
        from: instant,
        to: instant,
        tenantId: idSchema('ten').optional(),
        cursor: cursorSchema.optional(),
        limit: z.number().int().min(1).max(1_000).default(100),
      }),
    )
    .query(({ ctx, input }) => ledgerReport({ ctx, input })),
});
