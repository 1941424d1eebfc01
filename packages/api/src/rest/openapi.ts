// `GET /openapi.json`: the OpenAPI 3.1 document of `/v1`, generated from the zod schemas the
// procedures validate with (inputs) and the services' view schemas their results are typed by
// (outputs), with `z.toJSONSchema` (JSON Schema 2020-12, the dialect of OpenAPI 3.1). A field added to
// a schema appears here without touching this file; what is written here is the HTTP part (paths,
// parameters, statuses, headers) and the examples.
import { jobStatus } from '@tollgate/db';
import { z } from 'zod';
import { REASONS, type Reason } from '../reasons.ts';
import { ledgerInput } from '../routers/account.ts';
import { jobIdInput, listJobsInput, submitInput } from '../routers/jobs.ts';
import { quoteInput } from '../routers/pricing.ts';
import { accountViewSchema, statementLineSchema } from '../services/account.ts';
import { modelViewSchema, quoteViewSchema } from '../services/pricing.ts';
import { jobViewSchema, pageSchema } from '../services/wire.ts';
import { PROBLEM_CONTENT_TYPE, problemTitle, problemType } from './problem.ts';

type JsonObject = Record<string, unknown>;

/** The REST body of a submit: `jobs.submit`'s input, the idempotency key moved to its header. */
export const submitJobRequestSchema = submitInput.omit({ idempotencyKey: true });

/** rest/problem.ts `Problem`, as a schema for the document. */
const problemSchema = z.object({
  type: z.string().meta({ description: '`urn:tollgate:problem:<reason>`' }),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().meta({ description: 'tRPC error code (BAD_REQUEST, PAYMENT_REQUIRED, …)' }),
  reason: z
    .string()
    .meta({ description: 'Stable cause to branch on (INSUFFICIENT_BALANCE, JOB_NOT_FOUND, …)' }),
  requestId: z.string(),
  details: z.record(z.string(), z.unknown()).optional().meta({
    description: 'The same details as the tRPC error (e.g. requiredMicroCents, retryAfterSeconds, issues)',
  }),
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Component schemas: request bodies as zod parses them (`io: 'input'`), results as services return them. */
function componentSchemas(): JsonObject {
  const convert = (schemas: Record<string, z.ZodType>, io: 'input' | 'output') => {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
    return z.toJSONSchema(registry, {
      io,
      uri: (id) => `#/components/schemas/${id}`,
      // Refinements and transforms (cursor checks, amounts as bigint) have no JSON Schema: their input side is described.
      unrepresentable: 'any',
    }).schemas;
  };
  // Results may gain fields (a non-breaking change), so they are not closed with
  // `additionalProperties: false` as zod writes them; request bodies stay closed (strict schemas).
  const open = (schemas: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, withoutClosedObjects(schema)]));
  return tidy({
    ...convert({ SubmitJobRequest: submitJobRequestSchema, QuoteRequest: quoteInput }, 'input'),
    ...open(
      convert(
        {
          Job: jobViewSchema,
          JobPage: pageSchema(jobViewSchema),
          Quote: quoteViewSchema,
          Model: modelViewSchema,
          ModelPage: pageSchema(modelViewSchema),
          Account: accountViewSchema,
          LedgerLine: statementLineSchema,
          LedgerPage: pageSchema(statementLineSchema),
          Problem: problemSchema,
        },
        'output',
      ),
    ),
  }) as JsonObject;
}

function withoutClosedObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutClosedObjects);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => !(k === 'additionalProperties' && v === false))
      .map(([k, v]) => [k, withoutClosedObjects(v)]),
  );
}

/**
 * Drops what only clutters the document: `$schema` on each component (OpenAPI 3.1 implies 2020-12),
 * the `$id` zod gives each component (its own `#/components/schemas/…` address, which a 2020-12 `$id`
 * may not be: a fragment) and zod's date-time regex next to `format: date-time`, which says the same.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== 'object' || value === null) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$schema' || k === '$id') continue;
    if (k === 'pattern' && (value as JsonObject).format === 'date-time') continue;
    out[k] = tidy(v);
  }
  return out;
}

/** Query parameters from a strict object schema (every field optional or defaulted). */
function queryParameters(schema: z.ZodObject, descriptions: Record<string, string>): JsonObject[] {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
    schema: tidy(z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' })),
  }));
}

const JOB_ID_PARAMETER = {
  name: 'id',
  in: 'path',
  required: true,
  schema: tidy(z.toJSONSchema(jobIdInput.shape.id, { io: 'input' })),
  example: 'job_4kq9z2m7x1c8v5b3n6p0',
};

const EXAMPLE_JOB = {
  id: 'job_4kq9z2m7x1c8v5b3n6p0',
  tenantId: 'ten_8d2k5m1q9z7x3c6v4b0n',
  livemode: true,
  model: 'google/nano-banana-dev/text-to-image',
  status: 'pending',
  costMicroCents: 40_000,
  refundedMicroCents: 0,
  upstreamJobId: 'job_s2gfxffu4qv3',
  output: null,
  outputs: null,
  error: null,
  tags: ['newsletter'],
  createdAt: '2026-01-15T10:00:00.000Z',
  updatedAt: '2026-01-15T10:00:00.120Z',
  completedAt: null,
  estimatedCompletionTime: '2026-01-15T10:00:12.000Z',
};

const EXAMPLE_SUBMIT = {
  model: 'google/nano-banana-dev/text-to-image',
  input: { prompt: 'a red fox in the snow' },
  maxCostMicroCents: 100_000,
  tags: ['newsletter'],
};

/** An example problem of `reason`: its status and code from the reasons table (reasons.ts). */
function problemExample(reason: Reason, detail: string, details?: JsonObject) {
  const { status, code } = REASONS[reason];
  return {
    type: problemType(reason),
    title: problemTitle(reason),
    status,
    detail,
    code,
    reason,
    requestId: 'req_0b1c2d3e4f5a6b7c',
    ...(details ? { details } : {}),
  };
}

const PROBLEM_EXAMPLES: Record<string, JsonObject> = {
  400: problemExample(
    'INVALID_INPUT',
    'Invalid input: model: Too small: expected string to have >=1 characters',
    {
      issues: [
        { path: 'model', message: 'Too small: expected string to have >=1 characters', code: 'too_small' },
      ],
    },
  ),
  401: problemExample('MISSING_TOKEN', 'Authorization: Bearer <API key or JWT> is required'),
  402: problemExample('INSUFFICIENT_BALANCE', 'balance too low for this job', {
    requiredMicroCents: 40_000,
    availableMicroCents: 12_500,
  }),
  403: problemExample('TENANT_SUSPENDED', 'this tenant is suspended'),
  404: problemExample('JOB_NOT_FOUND', 'job job_4kq9z2m7x1c8v5b3n6p0 not found'),
  409: problemExample(
    'IDEMPOTENCY_CONFLICT',
    'this idempotencyKey was already used with a different request',
  ),
  412: problemExample(
    'JOB_NOT_CANCELLABLE',
    'job job_4kq9z2m7x1c8v5b3n6p0 cannot be cancelled: it is processing',
    {
      status: 'processing',
    },
  ),
  413: problemExample('BODY_TOO_LARGE', 'request body exceeds 262144 bytes'),
  415: problemExample('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json (got text/plain)'),
  429: problemExample('RATE_LIMIT', 'requests-per-minute limit reached for this tenant', {
    limit: 60,
    retryAfterSeconds: 17,
  }),
  503: problemExample('DATABASE_UNAVAILABLE', 'The database is temporarily unavailable; retry shortly', {
    retryAfterSeconds: 2,
  }),
};

const DESCRIPTIONS: Record<string, string> = {
  400: 'Invalid input (INVALID_INPUT, MALFORMED_JSON, UNKNOWN_MODEL, INVALID_CURSOR, MAX_COST_EXCEEDED, …); nothing was written',
  401: 'Missing, invalid or expired credentials',
  402: 'Insufficient balance (details: requiredMicroCents, availableMicroCents); nothing was charged',
  403: 'Wrong role, or the tenant is suspended',
  404: 'No such job for this tenant (another tenant’s job is not found either)',
  409: 'The Idempotency-Key was used with a different request (IDEMPOTENCY_CONFLICT), or is still being submitted (IDEMPOTENCY_IN_FLIGHT)',
  412: 'The job can no longer be cancelled',
  413: 'Body over the gateway’s limit',
  415: 'Body not sent as application/json',
  429: 'A tenant limit (RATE_LIMIT, CONCURRENT_JOBS_LIMIT, DAILY_SPEND_LIMIT) or upstream capacity; wait Retry-After seconds',
  503: 'Database or upstream unavailable; wait Retry-After seconds (a submit retried with the same Idempotency-Key never charges twice)',
};

const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};

const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': {
    description: "The tenant's requests-per-minute limit (only for tenants that have one)",
    schema: { type: 'integer' },
  },
  'RateLimit-Remaining': { description: 'Submits left in the current minute', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the minute restarts', schema: { type: 'integer' } },
};

function problemResponses(statuses: number[], extraHeaders: JsonObject = {}): JsonObject {
  const out: JsonObject = {};
  for (const status of [...statuses, 401, 403, 503]) {
    const retry = status === 429 || status === 503 ? RETRY_AFTER_HEADER : {};
    const headers = { ...retry, ...extraHeaders };
    out[String(status)] = {
      description: DESCRIPTIONS[status],
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem'), example: PROBLEM_EXAMPLES[status] } },
    };
  }
  return out;
}

function ok(description: string, schema: string, example?: unknown, headers?: JsonObject): JsonObject {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: ref(schema), ...(example === undefined ? {} : { example }) } },
  };
}

function jsonBody(schema: string, example: unknown): JsonObject {
  return { required: true, content: { 'application/json': { schema: ref(schema), example } } };
}

const DESCRIPTION = `The tollgate gateway over plain HTTP + JSON, for any language. Same services, money rules and error
reasons as the tRPC API.

- **Authentication**: \`Authorization: Bearer <key>\`: a tenant API key (\`tg_live_…\`) or a tenant JWT.
- **Money** is in integer **micro-cents** (1 USD = 100,000,000), sent as JSON integers.
- **Idempotency**: send \`Idempotency-Key\` with \`POST /v1/jobs\`; the same key with the same request returns the
  same job (200) and never charges twice; with another request it is a 409.
- **Errors** are \`application/problem+json\` (RFC 9457): branch on \`reason\`; \`details\` holds the same details
  as the tRPC error. 429 and 503 carry \`Retry-After\`.
- **Lists** return \`{ items, nextCursor }\`; pass \`nextCursor\` back as \`cursor\` until it is null.`;

function buildDocument(): JsonObject {
  const idempotencyKey = submitInput.shape.idempotencyKey.unwrap();
  return {
    openapi: '3.1.0',
    info: { title: 'tollgate REST API', version: '1.0.0', description: DESCRIPTION },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    tags: [{ name: 'jobs' }, { name: 'pricing' }, { name: 'account' }],
    paths: {
      '/v1/jobs': {
        post: {
          operationId: 'submitJob',
          tags: ['jobs'],
          summary: 'Submit a job',
          description:
            'Quotes the job, holds its price, forwards it to Pixelbyte and charges it once accepted. 201 with the new job; 200 with the same job when the Idempotency-Key replays an earlier submit.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'Tenant-scoped: the same key and the same request give the same job, never a second charge',
              schema: tidy(z.toJSONSchema(idempotencyKey, { io: 'input' })),
              example: 'order-1042',
            },
          ],
          requestBody: jsonBody('SubmitJobRequest', EXAMPLE_SUBMIT),
          responses: {
            201: ok('Job created', 'Job', EXAMPLE_JOB, {
              Location: { description: 'The job’s URL', schema: { type: 'string' } },
              ...RATE_LIMIT_HEADERS,
            }),
            200: ok(
              'Replay of an earlier submit with the same Idempotency-Key',
              'Job',
              EXAMPLE_JOB,
              RATE_LIMIT_HEADERS,
            ),
            ...problemResponses([400, 402, 409, 413, 415, 429], RATE_LIMIT_HEADERS),
          },
        },
        get: {
          operationId: 'listJobs',
          tags: ['jobs'],
          summary: 'List jobs, newest first',
          parameters: queryParameters(listJobsInput, {
            status: `One of ${jobStatus.enumValues.join(', ')}`,
            cursor: 'The nextCursor of the previous page',
            limit: 'Page size, 1–100 (default 20)',
          }),
          responses: {
            200: ok('A page of jobs', 'JobPage', { items: [EXAMPLE_JOB], nextCursor: null }),
            ...problemResponses([400]),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          operationId: 'getJob',
          tags: ['jobs'],
          summary: 'Read a job',
          parameters: [JOB_ID_PARAMETER],
          responses: {
            200: ok('The job', 'Job', {
              ...EXAMPLE_JOB,
              status: 'completed',
              output: 'https://cdn.example/fox.png',
            }),
            ...problemResponses([400, 404]),
          },
        },
      },
      '/v1/jobs/{id}/cancel': {
        post: {
          operationId: 'cancelJob',
          tags: ['jobs'],
          summary: 'Cancel a job still pending upstream (refunded once cancelled)',
          parameters: [JOB_ID_PARAMETER],
          responses: {
            200: ok('The job, cancelled', 'Job', {
              ...EXAMPLE_JOB,
              status: 'cancelled',
              refundedMicroCents: 40_000,
            }),
            ...problemResponses([400, 404, 412]),
          },
        },
      },
      '/v1/quote': {
        post: {
          operationId: 'quote',
          tags: ['pricing'],
          summary: 'Price a job without submitting it',
          requestBody: jsonBody('QuoteRequest', { model: EXAMPLE_SUBMIT.model, input: EXAMPLE_SUBMIT.input }),
          responses: {
            200: ok('The price', 'Quote', {
              model: EXAMPLE_SUBMIT.model,
              costMicroCents: 40_000,
              listCostMicroCents: 40_000,
              breakdown: [
                {
                  kind: 'base',
                  component: 'base',
                  label: 'Nano Banana Dev text-to-image',
                  unit: 'request',
                  factor: '40000',
                },
                { kind: 'markup', component: 'markup', label: 'markup 0 bps', bps: 0, factor: '1' },
              ],
              priceVersion: 'pixelbyte-docs-2026-01',
            }),
            ...problemResponses([400, 413, 415]),
          },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          tags: ['pricing'],
          summary: 'The model catalogue with your prices',
          responses: { 200: ok('Every model (one page)', 'ModelPage'), ...problemResponses([]) },
        },
      },
      '/v1/account': {
        get: {
          operationId: 'getAccount',
          tags: ['account'],
          summary: 'Balance, holds and limits',
          responses: {
            200: ok('Your account', 'Account', {
              tenantId: 'ten_8d2k5m1q9z7x3c6v4b0n',
              livemode: true,
              name: 'Acme',
              status: 'active',
              availableMicroCents: 99_960_000,
              heldMicroCents: 40_000,
              limits: { maxConcurrentJobs: 10, dailySpendLimitMicroCents: null, requestsPerMinute: 60 },
              activeJobs: 1,
              spentTodayMicroCents: 40_000,
              lowBalanceThresholdMicroCents: 10_000_000,
            }),
            ...problemResponses([]),
          },
        },
      },
      '/v1/account/ledger': {
        get: {
          operationId: 'getLedger',
          tags: ['account'],
          summary: 'Your statement: ledger lines, newest first',
          parameters: queryParameters(ledgerInput, {
            from: 'Start (inclusive), ISO 8601 with offset',
            to: 'End (exclusive), ISO 8601 with offset',
            cursor: 'The nextCursor of the previous page',
            limit: 'Page size, 1–100 (default 20)',
          }),
          responses: { 200: ok('A page of ledger lines', 'LedgerPage'), ...problemResponses([400]) },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'A tenant JWT or API key' },
      },
      schemas: componentSchemas(),
    },
  };
}

let document: string | undefined;

/** The document as JSON text, built once per process (it depends on the code only). */
export function openApiDocument(): string {
  document ??= JSON.stringify(buildDocument());
  return document;
}
