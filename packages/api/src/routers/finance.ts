import { z } from 'zod';
import { balancesReport } from '../services/finance/balances.ts';
import { ledgerReport } from '../services/finance/ledger.ts';
import {
  DEFAULT_USAGE_PAGE,
  MAX_USAGE_PAGE,
  USAGE_DIMENSIONS,
  USAGE_MODES,
  usageReport,
} from '../services/finance/usage.ts';
import { cursorSchema, idSchema, instantSchema as instant } from '../services/wire.ts';
import { financeProcedure, router } from '../trpc.ts';

/** Which book a report reads: live money (default) or test mode's (docs/test-mode.md). */
const modeSchema = z.enum(['live', 'test']);

/**
 * Finance reports (role finance or admin). Periods are [from, to) on the DB's timestamps, days are UTC;
 * usage periods are whole UTC days (it reads the daily roll-up).
 */
export const financeRouter = router({
  usage: financeProcedure
    .input(
      z.strictObject({
        from: instant,
        to: instant,
        groupBy: z.array(z.enum(USAGE_DIMENSIONS)).max(4).default(['tenant', 'model', 'day']),
        /** Which book: live money (default) or test mode's. */
        mode: z.enum(USAGE_MODES).default('live'),
        cursor: z.string().min(1).max(4_096).optional(),
        limit: z.number().int().min(1).max(MAX_USAGE_PAGE).default(DEFAULT_USAGE_PAGE),
      }),
    )
    .query(({ ctx, input }) => usageReport({ ctx, input })),
  balances: financeProcedure
    .input(z.strictObject({ mode: modeSchema.optional() }).optional())
    .query(({ ctx, input }) => balancesReport({ ctx, input: input ?? {} })),
  ledger: financeProcedure
    .input(
      z.strictObject({
        from: instant,
        to: instant,
        tenantId: idSchema('ten').optional(),
        cursor: cursorSchema.optional(),
        limit: z.number().int().min(1).max(1_000).default(100),
        /** `test`: test mode's book; default live money. */
        mode: modeSchema.optional(),
      }),
    )
    .query(({ ctx, input }) => ledgerReport({ ctx, input })),
});
