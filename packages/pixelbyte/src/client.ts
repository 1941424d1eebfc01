import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import { JsonSyntaxError, parseJsonExact } from './exact-json.ts';
import { createTransport, type HttpAnswer, type Transport } from './http.ts';
import {
  cancelJobResponseSchema,
  estimateResponseSchema,
  isRecord,
  listJobsResponseSchema,
  modelResponseSchema,
  submitJobResponseSchema,
  upstreamJobSchema,
} from './schemas.ts';
import type {
  CancelJobResponse,
  EstimateRequest,
  EstimateResponse,
  ListJobsQuery,
  ListJobsResponse,
  PbResult,
  PixelbyteError,
  PixelbyteOutcome,
  SubmitJobRequest,
  SubmitJobResponse,
  UpstreamJob,
  UpstreamModel,
} from './types.ts';

export interface PixelbyteClientOptions {
  /** e.g. `https://api.muvi.video` (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** Deadline for a whole exchange (connect, send, full answer) on every call; default 30 000 ms. */
  timeoutMs?: number | undefined;
  /** Deadline for `submitJob` only; defaults to `timeoutMs`. */
  submitTimeoutMs?: number | undefined;
  /** Keep-alive pool size; default 64. */
  maxSockets?: number | undefined;
}

export interface PixelbyteClient {
  /** `POST /v1/jobs/submit`. Every accepted submit is charged upstream; read `PixelbyteError.outcome`. */
  submitJob(req: SubmitJobRequest): Promise<PbResult<SubmitJobResponse>>;
  /** `GET /v1/jobs/{jobId}`: the truth about a job. */
  getJob(jobId: string): Promise<PbResult<UpstreamJob>>;
  /** `GET /v1/jobs` with `limit`, `cursor`, `status`, `modelId`. */
  listJobs(q?: ListJobsQuery): Promise<PbResult<ListJobsResponse>>;
  /** `POST /v1/jobs/{jobId}/cancel`: only pending jobs; refunds upstream in full. */
  cancelJob(jobId: string): Promise<PbResult<CancelJobResponse>>;
  /** `POST /v1/jobs/estimate`. */
  estimate(req: EstimateRequest): Promise<PbResult<EstimateResponse>>;
  /** `GET /v1/models/{modelId}` (the slug's slashes are kept as path separators). */
  getModel(modelId: string): Promise<PbResult<UpstreamModel>>;
  /** Destroys pooled connections; calls in flight fail with `CLIENT_CLOSED`. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The typed Pixelbyte client. Every method returns a value (`PbResult`), never throws for upstream or
 * network trouble, and classifies failures into the outcome the gateway has to decide on:
 *
 * | what happened                                              | outcome    | code                          |
 * |------------------------------------------------------------|------------|-------------------------------|
 * | a Pixelbyte error body `{success:false,error:{code}}`, any HTTP status (5xx included: an answer was received) | rejected | upstream code |
 * | non-2xx without an understandable error body: 4xx          | rejected   | INVALID_RESPONSE              |
 * | non-2xx without an understandable error body: 5xx / other  | unknown    | INVALID_RESPONSE              |
 * | 2xx whose body fails validation                            | unknown    | INVALID_RESPONSE              |
 * | deadline passed after a connection was made                | unknown    | TIMEOUT                       |
 * | socket reset / closed after a connection was made          | unknown    | CONNECTION_LOST               |
 * | deadline passed while still connecting                     | not_sent   | TIMEOUT                       |
 * | ECONNREFUSED / ENOTFOUND, EAI_AGAIN / other connect errors | not_sent   | CONNECTION_REFUSED / DNS_LOOKUP_FAILED / CONNECTION_FAILED |
 * | request could not be encoded, client closed                | not_sent   | INVALID_REQUEST / CLIENT_CLOSED |
 *
 * "Connecting" lasts, over https, until the TLS handshake is done: a failed handshake sent nothing.
 * The same classification applies to every method, reads included, so callers need one rule.
 */
export function createPixelbyteClient(opts: PixelbyteClientOptions): PixelbyteClient {
  const baseUrl = new URL(opts.baseUrl);
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new TypeError(`Pixelbyte baseUrl must be http(s), got ${opts.baseUrl}`);
  }
  if (opts.apiKey.length === 0) throw new TypeError('Pixelbyte apiKey must not be empty');
  const timeoutMs = positiveMs(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const submitTimeoutMs = positiveMs(opts.submitTimeoutMs ?? timeoutMs, 'submitTimeoutMs');
  const transport = createTransport(baseUrl, { maxSockets: opts.maxSockets ?? 64 });
  const authorization = `Bearer ${opts.apiKey}`;

  const call = <S extends z.ZodType>(
    schema: S,
    req: { method: 'GET' | 'POST'; path: string; body?: unknown; timeoutMs?: number },
  ): Promise<PbResult<z.output<S>>> =>
    exchange(transport, schema, {
      method: req.method,
      path: req.path,
      body: req.body,
      timeoutMs: req.timeoutMs ?? timeoutMs,
      authorization,
    });

  return {
    submitJob: (req) =>
      call(submitJobResponseSchema, {
        method: 'POST',
        path: '/v1/jobs/submit',
        body: dropUndefined({
          model: req.model,
          version: req.version,
          input: req.input,
          webhookUrl: req.webhookUrl,
        }),
        timeoutMs: submitTimeoutMs,
      }),
    getJob: async (jobId) =>
      sameJob(
        jobId,
        await call(upstreamJobSchema, { method: 'GET', path: `/v1/jobs/${encodeURIComponent(jobId)}` }),
      ),
    listJobs: (q = {}) => {
      const params = new URLSearchParams();
      if (q.limit !== undefined) params.set('limit', String(q.limit));
      if (q.cursor !== undefined) params.set('cursor', q.cursor);
      if (q.status !== undefined) params.set('status', q.status);
      if (q.modelId !== undefined) params.set('modelId', q.modelId);
      const query = params.toString();
      return call(listJobsResponseSchema, { method: 'GET', path: `/v1/jobs${query ? `?${query}` : ''}` });
    },
    cancelJob: async (jobId) =>
      sameJob(
        jobId,
        await call(cancelJobResponseSchema, {
          method: 'POST',
          path: `/v1/jobs/${encodeURIComponent(jobId)}/cancel`,
        }),
      ),
    estimate: (req) =>
      call(estimateResponseSchema, {
        method: 'POST',
        path: '/v1/jobs/estimate',
        body: dropUndefined({ model: req.model, version: req.version, input: req.input }),
      }),
    getModel: (modelId) =>
      call(modelResponseSchema, {
        method: 'GET',
        path: `/v1/models/${modelId.split('/').map(encodeURIComponent).join('/')}`,
      }),
    close: () => transport.close(),
  };
}

async function exchange<S extends z.ZodType>(
  transport: Transport,
  schema: S,
  req: { method: 'GET' | 'POST'; path: string; body: unknown; timeoutMs: number; authorization: string },
): Promise<PbResult<z.output<S>>> {
  let body: string | undefined;
  if (req.body !== undefined) {
    try {
      body = JSON.stringify(req.body);
    } catch (err) {
      return failure(
        'not_sent',
        'INVALID_REQUEST',
        `request body is not JSON-encodable: ${errorMessage(err)}`,
      );
    }
  }
  const headers: Record<string, string> = {
    authorization: req.authorization,
    accept: 'application/json',
    'user-agent': 'tollgate-pixelbyte/0.1',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';

  const result = await transport.send({
    method: req.method,
    path: req.path,
    headers,
    body,
    timeoutMs: req.timeoutMs,
  });
  if (!result.ok) {
    const { failure: f } = result;
    return failure(f.maybeSent ? 'unknown' : 'not_sent', f.code, f.message);
  }
  return interpret(result.answer, schema);
}

function interpret<S extends z.ZodType>(answer: HttpAnswer, schema: S): PbResult<z.output<S>> {
  const headerRequestId = header(answer.headers, 'x-request-id');
  const isSuccess = answer.status >= 200 && answer.status < 300;
  const retryAfterSeconds = parseRetryAfter(header(answer.headers, 'retry-after'));
  let parsed: unknown;
  try {
    parsed = answer.body.length === 0 ? undefined : parseJsonExact(answer.body);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    parsed = undefined;
  }

  const upstreamError = readErrorBody(parsed);
  const saysFailure = isRecord(parsed) && parsed.success === false;
  // A 5xx with an error-shaped body but without Pixelbyte's `success: false` may come from something
  // in between (a proxy's JSON 504) that hides a request Pixelbyte did take: unknown, not a refusal.
  if (upstreamError !== undefined && (saysFailure || (!isSuccess && answer.status < 500))) {
    // Pixelbyte answered with its error format: a definitive refusal, whatever the HTTP status.
    return {
      ok: false,
      error: withOptional(
        {
          outcome: 'rejected',
          code: upstreamError.code,
          status: answer.status,
          message: upstreamError.message,
        },
        { requestId: upstreamError.requestId ?? headerRequestId, retryAfterSeconds },
      ),
    };
  }

  if (!isSuccess) {
    // Not Pixelbyte's error format (a proxy page, an empty body, a 5xx without `success: false`...).
    // A 4xx still says the request was refused; a 5xx from something in between may hide a request
    // that did reach Pixelbyte.
    const outcome: PixelbyteOutcome = answer.status >= 400 && answer.status < 500 ? 'rejected' : 'unknown';
    return {
      ok: false,
      error: withOptional(
        {
          outcome,
          code: 'INVALID_RESPONSE',
          status: answer.status,
          message: `HTTP ${answer.status} without Pixelbyte's error envelope`,
        },
        { requestId: headerRequestId, retryAfterSeconds },
      ),
    };
  }

  // Both envelopes exist upstream: flat objects, and `{ success: true, data, requestId }` (`data` is
  // unwrapped when present, with or without `success`; no flat answer has a `data` field).
  let data = parsed;
  let envelopeRequestId: string | undefined;
  if (
    isRecord(parsed) &&
    isRecord(parsed.data) &&
    (parsed.success === true ||
      parsed.success === 'true' ||
      // Without `success`, only when the top level is not itself the answer (a flat answer with a
      // field named `data` keeps its own jobId).
      (parsed.success === undefined && parsed.jobId === undefined))
  ) {
    data = parsed.data;
    envelopeRequestId = typeof parsed.requestId === 'string' ? parsed.requestId : undefined;
  }
  const requestId =
    envelopeRequestId ??
    (isRecord(data) && typeof data.requestId === 'string' ? data.requestId : undefined) ??
    headerRequestId;

  const validated = schema.safeParse(
    isRecord(data) && requestId !== undefined ? { requestId, ...data } : data,
  );
  if (!validated.success) {
    const jobId =
      isRecord(data) && typeof data.jobId === 'string' && data.jobId !== '' ? data.jobId : undefined;
    return {
      ok: false,
      error: withOptional(
        {
          outcome: 'unknown',
          code: 'INVALID_RESPONSE',
          status: answer.status,
          message: `unexpected Pixelbyte answer: ${validated.error.issues
            .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
            .join('; ')}`,
        },
        { requestId, jobId },
      ),
    };
  }
  return requestId === undefined
    ? { ok: true, value: validated.data }
    : { ok: true, value: validated.data, requestId };
}

/** An answer about another job than the one asked for is not an answer: never act on it. */
function sameJob<T extends { jobId: string }>(jobId: string, result: PbResult<T>): PbResult<T> {
  if (!result.ok || result.value.jobId === jobId) return result;
  const error: PixelbyteError = {
    outcome: 'unknown',
    code: 'INVALID_RESPONSE',
    message: `asked about job ${jobId}, Pixelbyte answered about ${result.value.jobId}`,
  };
  if (result.requestId !== undefined) error.requestId = result.requestId;
  return { ok: false, error };
}

function readErrorBody(parsed: unknown): { code: string; message: string; requestId?: string } | undefined {
  if (!isRecord(parsed)) return undefined;
  const requestId = typeof parsed.requestId === 'string' ? parsed.requestId : undefined;
  const err = parsed.error;
  let code: string | undefined;
  let message: string | undefined;
  if (isRecord(err) && typeof err.code === 'string') {
    code = err.code;
    message = typeof err.message === 'string' ? err.message : undefined;
  } else if (typeof parsed.code === 'string' && parsed.success === false) {
    code = parsed.code;
    message = typeof parsed.message === 'string' ? parsed.message : undefined;
  }
  if (code === undefined) return undefined;
  const result = { code, message: message ?? code };
  return requestId === undefined ? result : { ...result, requestId };
}

function failure(
  outcome: PixelbyteOutcome,
  code: string,
  message: string,
): { ok: false; error: PixelbyteError } {
  return { ok: false, error: { outcome, code, message } };
}

/** Adds the optional fields that are defined (exactOptionalPropertyTypes forbids explicit undefined). */
function withOptional(
  base: PixelbyteError,
  extra: {
    requestId?: string | undefined;
    retryAfterSeconds?: number | undefined;
    jobId?: string | undefined;
  },
): PixelbyteError {
  const error: PixelbyteError = { ...base };
  if (extra.requestId !== undefined) error.requestId = extra.requestId;
  if (extra.retryAfterSeconds !== undefined) error.retryAfterSeconds = extra.retryAfterSeconds;
  if (extra.jobId !== undefined) error.jobId = extra.jobId;
  return error;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` is either delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function dropUndefined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

function positiveMs(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of ms`);
  return value;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
