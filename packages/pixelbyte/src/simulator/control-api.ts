/**
 * The HTTP control API under /__sim: the same switches as `Simulator.control`, for a simulator running
 * in another process (dev mode, benchmarks, chaos tests). JSON in and out; amounts are decimal strings.
 * Not authenticated: the simulator is a test tool and listens on 127.0.0.1 by default.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { SimEnv } from './app.ts';
import { type Engine, SimControlError } from './engine.ts';
import { stringifyJson } from './json.ts';

const count = z.number().int().min(1).max(1_000_000).optional();
const schemas = {
  failNextSubmits: z.object({
    code: z.string().min(1),
    status: z.number().int().min(100).max(599).optional(),
    count,
    model: z.string().min(1).optional(),
  }),
  count: z.object({ count }),
  latency: z.object({ ms: z.number().int().min(0).max(600_000) }),
  failNextStatusReads: z.object({
    status: z.number().int().min(100).max(599),
    code: z.string().min(1),
    count,
  }),
  misanswerNextCancels: z.object({
    status: z.enum(['pending', 'processing', 'completed', 'failed', 'cancelled']),
    count,
  }),
  webhookMode: z.object({
    mode: z.enum(['normal', 'duplicate', 'delayed', 'out_of_order', 'none']),
    delayMs: z.number().int().min(0).max(3_600_000).optional(),
  }),
  outcome: z.object({
    outcome: z.enum(['completed', 'failed']),
    model: z.string().min(1).optional(),
    jobId: z.string().min(1).optional(),
  }),
  advance: z.object({ to: z.enum(['processing', 'completed', 'failed']).optional() }),
  balance: z.object({
    balanceMicroCents: z.union([
      z.string().regex(/^-?\d{1,30}$/),
      z.number().int().refine(Number.isSafeInteger),
    ]),
  }),
};

export function registerControlApi(app: Hono<SimEnv>, engine: Engine): void {
  const { control } = engine;
  const reply = (value: unknown, status = 200): Response =>
    new Response(stringifyJson(value, { bigints: 'string' }), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  const problem = (status: number, message: string): Response =>
    reply(
      { success: false, error: { code: status === 404 ? 'NOT_FOUND' : 'INVALID_INPUT', message } },
      status,
    );

  /** Parses a JSON body (empty = {}) with `schema`, then runs `act`. */
  async function withBody<S extends z.ZodType>(
    req: Request,
    schema: S,
    act: (body: z.output<S>) => unknown,
  ): Promise<Response> {
    const text = await req.text();
    let raw: unknown = {};
    if (text.trim() !== '') {
      try {
        raw = JSON.parse(text);
      } catch {
        return problem(400, 'the body is not valid JSON');
      }
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      return problem(
        400,
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    }
    try {
      const result = await act(parsed.data);
      return reply(result ?? { ok: true });
    } catch (err) {
      if (err instanceof SimControlError) return problem(err.status, err.message);
      throw err;
    }
  }

  const state = () => ({ balanceMicroCents: control.balance(), counts: control.counts() });

  app.get('/__sim/state', () => reply(state()));
  app.post('/__sim/reset', () => {
    control.reset();
    return reply(state());
  });
  app.post('/__sim/fail-next-submits', (c) =>
    withBody(c.req.raw, schemas.failNextSubmits, (b) => {
      control.failNextSubmits(b);
    }),
  );
  app.post('/__sim/hang-next-submits', (c) =>
    withBody(c.req.raw, schemas.count, (b) => control.hangNextSubmits(b.count)),
  );
  app.post('/__sim/lose-answer-next-submits', (c) =>
    withBody(c.req.raw, schemas.count, (b) => control.loseAnswerNextSubmits(b.count)),
  );
  app.post('/__sim/answer-with-previous-job-next-submits', (c) =>
    withBody(c.req.raw, schemas.count, (b) => control.answerWithPreviousJobNextSubmits(b.count)),
  );
  app.post('/__sim/latency', (c) => withBody(c.req.raw, schemas.latency, (b) => control.setLatencyMs(b.ms)));
  app.post('/__sim/misanswer-next-cancels', (c) =>
    withBody(c.req.raw, schemas.misanswerNextCancels, (b) => control.misanswerNextCancels(b)),
  );
  app.post('/__sim/fail-next-status-reads', (c) =>
    withBody(c.req.raw, schemas.failNextStatusReads, (b) => control.failNextStatusReads(b)),
  );
  app.post('/__sim/webhook-mode', (c) =>
    withBody(c.req.raw, schemas.webhookMode, (b) => control.webhookMode(b.mode, { delayMs: b.delayMs })),
  );
  app.post('/__sim/outcome', (c) =>
    withBody(c.req.raw, schemas.outcome, (b) =>
      control.setOutcome(b.outcome, { model: b.model, jobId: b.jobId }),
    ),
  );
  app.post('/__sim/jobs/:jobId/advance', (c) =>
    withBody(c.req.raw, schemas.advance, async (b) => {
      await control.advance(c.req.param('jobId'), b.to);
      return control.job(c.req.param('jobId'));
    }),
  );
  app.get('/__sim/balance', () => reply({ balanceMicroCents: control.balance() }));
  app.post('/__sim/balance', (c) =>
    withBody(c.req.raw, schemas.balance, (b) => {
      control.setBalance(BigInt(b.balanceMicroCents));
      return { balanceMicroCents: control.balance() };
    }),
  );
  app.get('/__sim/jobs', () => reply({ jobs: control.jobs() }));
  app.get('/__sim/jobs/:jobId', (c) => {
    const job = control.job(c.req.param('jobId'));
    return job === undefined ? problem(404, `no job ${c.req.param('jobId')}`) : reply(job);
  });
  app.get('/__sim/requests', () => reply({ requests: control.requests() }));
  app.get('/__sim/webhook-deliveries', () => reply({ deliveries: control.webhookDeliveries() }));
}
