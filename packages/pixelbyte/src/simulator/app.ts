/**
 * The simulator's HTTP surface: Pixelbyte's documented endpoints and error format under /v1, and the
 * control API under /__sim (control-api.ts). Hang / lost-answer faults need the Node socket, so they
 * only work when served by startSimulator (not through `app.request()`).
 */
import { randomBytes } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { UPSTREAM_JOB_STATUSES } from '../types.ts';
import { registerControlApi } from './control-api.ts';
import type { Engine, SimError } from './engine.ts';
import { stringifyJson } from './json.ts';
import { MAGIC_INPUTS } from './magic.ts';
import { SIM_MODEL_VERSION } from './pricing.ts';
import type { Envelope, SimJob } from './types.ts';

export type SimEnv = { Bindings: Partial<HttpBindings> };
type Ctx = Context<SimEnv>;

/** Fields sent as strings when `stringNumbers` is on. */
const NUMERIC_KEYS: ReadonlySet<string> = new Set([
  'costMicroCents',
  'refundedMicroCents',
  'progress',
  'baseCostMicroCents',
  'estimatedCostMicroCents',
]);

const submitBodySchema = z.object({
  model: z.string({ error: 'model is required' }).min(1, 'model is required'),
  version: z.string().min(1).optional(),
  input: z.record(z.string(), z.unknown(), { error: 'input must be an object' }).optional(),
  webhookUrl: z.string({ error: 'webhookUrl must be a string' }).optional(),
});

const estimateBodySchema = submitBodySchema.omit({ webhookUrl: true });

const listQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'limit must be at least 1').max(100, 'limit must be at most 100'))
    .optional(),
  cursor: z.string().min(1).optional(),
  status: z.enum(UPSTREAM_JOB_STATUSES).optional(),
  modelId: z.string().min(1).optional(),
});

export function createSimulatorApp(
  engine: Engine,
  opts: { apiKey: string; envelope: Envelope; stringNumbers: boolean },
) {
  const app = new Hono<SimEnv>();
  const hangs = new Set<() => void>();
  let responseCount = 0;

  function json(status: number, body: unknown, requestId: string): Response {
    return new Response(
      stringifyJson(body, {
        bigints: 'number',
        ...(opts.stringNumbers ? { stringKeys: NUMERIC_KEYS } : {}),
      }),
      { status, headers: { 'content-type': 'application/json', 'x-request-id': requestId } },
    );
  }

  function fail(err: SimError, requestId = newRequestId()): Response {
    return json(
      err.status,
      { success: false, error: { code: err.code, message: err.message }, requestId },
      requestId,
    );
  }

  /** A success answer in the configured envelope (`mixed` alternates, starting flat). */
  function ok(data: Record<string, unknown>, requestId = newRequestId()): Response {
    responseCount += 1;
    const wrapped = opts.envelope === 'wrapped' || (opts.envelope === 'mixed' && responseCount % 2 === 0);
    return json(200, wrapped ? { success: true, data, requestId } : data, requestId);
  }

  /** Never answers; on close the socket is destroyed. */
  function hang(c: Ctx): Promise<Response> {
    return new Promise((resolve) => {
      const socket = c.env?.incoming?.socket;
      const release = (): void => {
        hangs.delete(release);
        socket?.destroy();
        resolve(new Response(null, { status: 504 }));
      };
      hangs.add(release);
      // When the caller gives up first, stop holding the request.
      socket?.once('close', release);
    });
  }

  app.use('/v1/*', async (c, next) => {
    const url = new URL(c.req.url);
    const body = await c.req.text();
    engine.record(
      {
        method: c.req.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(c.req.raw.headers),
        body,
        at: Date.now(),
        remotePort: c.env?.incoming?.socket.remotePort ?? null,
      },
      c.req.method === 'POST' && url.pathname === '/v1/jobs/submit',
    );
    const latency = engine.latencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const auth = c.req.header('authorization');
    if (auth === undefined || auth.trim() === '') {
      return fail({ status: 401, code: 'UNAUTHORIZED', message: 'missing Authorization: Bearer <api key>' });
    }
    const match = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (match?.[1] !== opts.apiKey) {
      return fail({ status: 401, code: 'INVALID_API_KEY', message: 'the API key is not valid' });
    }
    return next();
  });

  app.post('/v1/jobs/submit', async (c) => {
    const raw = await c.req.text();
    const parsed = parseBody(raw, submitBodySchema);
    if (!parsed.ok) return fail(parsed.error);
    if (engine.takeHang()) return hang(c);
    const injected = engine.takeInjectedFailure(parsed.value.model);
    if (injected) return fail(injected);
    const previous = engine.takePreviousJobAnswer();
    if (previous) {
      return ok(
        {
          jobId: previous.jobId,
          requestId: previous.requestId,
          status: previous.status,
          estimatedCompletionTime: previous.estimatedCompletionTime,
          costMicroCents: previous.costMicroCents,
        },
        previous.requestId,
      );
    }
    const magic = engine.magicInputsOf(parsed.value.input ?? {});
    if (magic.has('reject')) {
      return fail({
        status: 400,
        code: 'INVALID_INPUT',
        message: `refused on purpose: the input contains ${MAGIC_INPUTS.reject} (test mode)`,
      });
    }
    const result = engine.submit(
      {
        model: parsed.value.model,
        version: parsed.value.version,
        input: parsed.value.input ?? {},
        webhookUrl: parsed.value.webhookUrl,
      },
      { headers: Object.fromEntries(c.req.raw.headers), body: raw },
    );
    if (!result.ok) return fail(result.error);
    const job = result.value;
    if (engine.takeLoseAnswer() || magic.has('unknown')) {
      // The job exists and is charged; the caller never learns it (the unknown-outcome case).
      engine.markAnswerLost(job);
      c.env?.incoming?.socket.destroy();
      return new Response(null, { status: 504 });
    }
    return ok(
      {
        jobId: job.jobId,
        requestId: job.requestId,
        status: job.status,
        estimatedCompletionTime: job.estimatedCompletionTime,
        costMicroCents: job.costMicroCents,
      },
      job.requestId,
    );
  });

  app.post('/v1/jobs/estimate', async (c) => {
    const parsed = parseBody(await c.req.text(), estimateBodySchema);
    if (!parsed.ok) return fail(parsed.error);
    const priced = engine.estimate(parsed.value.model, parsed.value.input ?? {});
    if (!priced.ok) return fail(priced.error);
    if (parsed.value.version !== undefined && parsed.value.version !== SIM_MODEL_VERSION) {
      return fail({
        status: 404,
        code: 'MODEL_VERSION_NOT_FOUND',
        message: `no version ${parsed.value.version}`,
      });
    }
    return ok({
      baseCostMicroCents: priced.baseCostMicroCents,
      estimatedCostMicroCents: priced.costMicroCents,
      breakdown: priced.breakdown,
      hasDiscount: false,
    });
  });

  app.get('/v1/jobs', (c) => {
    const injected = engine.takeStatusReadFailure();
    if (injected) return fail(injected);
    const query = listQuerySchema.safeParse(c.req.query());
    if (!query.success) return fail(invalidInput(query.error));
    const listed = engine.list({
      limit: query.data.limit ?? 20,
      cursor: query.data.cursor,
      status: query.data.status,
      modelId: query.data.modelId,
    });
    if (!listed.ok) return fail(listed.error);
    return ok({
      jobs: listed.value.jobs.map((j) => ({
        jobId: j.jobId,
        status: j.status,
        progress: j.progress,
        model: j.model,
        createdAt: j.createdAt,
        completedAt: j.completedAt,
      })),
      nextCursor: listed.value.nextCursor,
      hasMore: listed.value.hasMore,
    });
  });

  app.get('/v1/jobs/:jobId', (c) => {
    const injected = engine.takeStatusReadFailure();
    if (injected) return fail(injected);
    const job = engine.getJob(c.req.param('jobId'));
    if (job === undefined) return fail(jobNotFound(c.req.param('jobId')));
    return ok(jobView(job));
  });

  app.post('/v1/jobs/:jobId/cancel', (c) => {
    const result = engine.cancel(c.req.param('jobId'));
    if (!result.ok) return fail(result.error);
    return ok({
      jobId: result.value.jobId,
      status: result.value.status,
      refundedMicroCents: result.value.refundedMicroCents,
    });
  });

  app.get('/v1/models/:modelId{.+}', (c) => {
    const modelId = c.req.param('modelId');
    const model = engine.describeModel(modelId);
    if (model === undefined) {
      return fail({
        status: 404,
        code: 'MODEL_NOT_FOUND',
        message: `Unknown model ${JSON.stringify(modelId)}`,
      });
    }
    return ok(model);
  });

  registerControlApi(app, engine);

  app.notFound((c) =>
    fail({ status: 404, code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` }),
  );
  app.onError((err) => {
    engine.log(`internal error: ${err.stack ?? err.message}`);
    return fail({ status: 500, code: 'INTERNAL_ERROR', message: 'internal error in the simulator' });
  });

  return {
    app,
    /** Destroys the sockets of hanging submits (used on close). */
    releaseHangs(): void {
      for (const release of [...hangs]) release();
    },
  };
}

function jobView(job: SimJob): Record<string, unknown> {
  return {
    jobId: job.jobId,
    status: job.status,
    progress: job.progress,
    output: job.output,
    outputs: job.outputs,
    error: job.error,
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  };
}

function jobNotFound(jobId: string): SimError {
  return { status: 404, code: 'JOB_NOT_FOUND', message: `no job ${jobId}` };
}

function parseBody<S extends z.ZodType>(
  raw: string,
  schema: S,
): { ok: true; value: z.output<S> } | { ok: false; error: SimError } {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return {
      ok: false,
      error: { status: 400, code: 'INVALID_INPUT', message: 'the body is not valid JSON' },
    };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { ok: false, error: invalidInput(parsed.error) };
  return { ok: true, value: parsed.data };
}

function invalidInput(error: z.ZodError): SimError {
  return {
    status: 400,
    code: 'INVALID_INPUT',
    message: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  };
}

function newRequestId(): string {
  return `req_${randomBytes(6).toString('hex')}`;
}
