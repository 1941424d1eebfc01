// Server side of `framework-floor.ts` (diagnostic): one JSON POST endpoint served two ways by the
// gateway's own server stack, with no database, no auth and no upstream call behind it.
//   hono  — a plain Hono route: read the JSON body, answer JSON.
//   trpc  — the same answer from a tRPC v11 mutation with a zod input, through @hono/trpc-server
//           (the adapter and the path every gateway procedure takes), behind FLOOR_MIDDLEWARES
//           pass-through middlewares that extend the context (the gateway's procedures have two).
// Env: FLOOR_PORT, FLOOR_VARIANT (hono | trpc), FLOOR_MIDDLEWARES (default 0).
import { serve } from '@hono/node-server';
import { trpcServer } from '@hono/trpc-server';
import { initTRPC } from '@trpc/server';
import { Hono } from 'hono';
import { z } from 'zod';

const port = Number(process.env.FLOOR_PORT ?? '0');
const variant = process.env.FLOOR_VARIANT ?? 'hono';
const middlewares = Number(process.env.FLOOR_MIDDLEWARES ?? '0');

const submitInput = z.object({ model: z.string(), input: z.record(z.string(), z.unknown()) });
const answer = (model: string) => ({ id: 'job_floor', status: 'pending', model });

const app = new Hono();
app.get('/healthz', (c) => c.text('ok'));
if (variant === 'hono') {
  app.post('/trpc/jobs.submit', async (c) => {
    const input = submitInput.parse(await c.req.json());
    return c.json({ result: { data: answer(input.model) } });
  });
} else {
  const t = initTRPC.context<Record<string, unknown>>().create();
  let procedure = t.procedure;
  for (let i = 0; i < middlewares; i++)
    procedure = procedure.use(({ ctx, next }) => next({ ctx: { ...ctx, [`step${i}`]: i } }));
  const router = t.router({
    jobs: t.router({ submit: procedure.input(submitInput).mutation(({ input }) => answer(input.model)) }),
  });
  app.use('/trpc/*', trpcServer({ endpoint: '/trpc', router, createContext: () => ({}) }));
}

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`FLOOR_URL=http://127.0.0.1:${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
