import { z } from 'zod';
import { listAudit } from '../../services/admin/audit.ts';
import { instantSchema as instant, limitSchema } from '../../services/wire.ts';
import { adminProcedure, router } from '../../trpc.ts';

export const auditRouter = router({
  list: adminProcedure
    .input(
      z
        .strictObject({
          actor: z.string().min(1).max(200).optional(),
          action: z.string().min(1).max(100).optional(),
          targetType: z.string().min(1).max(100).optional(),
          targetId: z.string().min(1).max(200).optional(),
          from: instant.optional(),
          to: instant.optional(),
          cursor: z.string().min(1).max(40).optional(),
          limit: limitSchema,
        })
        .default({ limit: 20 }),
    )
    .query(({ ctx, input }) => listAudit({ ctx, input })),
});
