/** Job states as Pixelbyte reports them. `completed`, `failed` and `cancelled` are terminal. */
export type UpstreamJobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export const UPSTREAM_JOB_STATUSES = [
  'pending',
  'processing',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly UpstreamJobStatus[];

export function isTerminalStatus(status: UpstreamJobStatus): boolean {
  switch (status) {
    case 'completed':
    case 'failed':
    case 'cancelled':
      return true;
    case 'pending':
    case 'processing':
      return false;
    default: {
      const never: never = status;
      return never;
    }
  }
}

/**
 * What the gateway must decide on when a call fails:
 * - `rejected`: Pixelbyte answered with an error. For a submit the job was not created, so money held
 *   for it can be released.
 * - `unknown`: the request may have reached Pixelbyte (timeout or connection lost after sending, or an
 *   answer we could not understand). A submit in this state may have created and charged a job; it must
 *   never be retried automatically (Pixelbyte has no idempotency key).
 * - `not_sent`: no byte of the request left this process (connection refused, DNS failure, timeout
 *   while connecting). Safe to retry.
 */
export type PixelbyteOutcome = 'rejected' | 'unknown' | 'not_sent';

/** Codes the client produces itself; any other `code` is Pixelbyte's own (e.g. `INSUFFICIENT_BALANCE`). */
export type PixelbyteLocalErrorCode =
  | 'TIMEOUT'
  | 'CONNECTION_LOST'
  | 'CONNECTION_REFUSED'
  | 'DNS_LOOKUP_FAILED'
  | 'CONNECTION_FAILED'
  | 'INVALID_RESPONSE'
  | 'INVALID_REQUEST'
  | 'CLIENT_CLOSED';

export interface PixelbyteError {
  outcome: PixelbyteOutcome;
  /** Pixelbyte's error code when it sent one, else one of `PixelbyteLocalErrorCode`. */
  code: string;
  /** HTTP status when a response was received. */
  status?: number;
  message: string;
  requestId?: string;
  /** From a `Retry-After` header, in whole seconds. */
  retryAfterSeconds?: number;
  /**
   * Set on an `unknown` submit whose 2xx answer failed validation but still named a job id: the job
   * most likely exists, and polling it resolves the outcome.
   */
  jobId?: string;
}

export type PbResult<T> = { ok: true; value: T; requestId?: string } | { ok: false; error: PixelbyteError };

export interface SubmitJobRequest {
  /** Model slug, e.g. `alibaba-plus/wan-2.6-flash/image-to-video`. The slug alone decides the price. */
  model: string;
  version?: string | undefined;
  /** Model input; numbers and booleans may be real values or strings (`"5"`, `"true"`). */
  input: Record<string, unknown>;
  /** Must be https for the real API. */
  webhookUrl?: string | undefined;
}

export interface SubmitJobResponse {
  jobId: string;
  /** Pixelbyte's request id (from the body, the envelope or the `x-request-id` header), if any. */
  requestId: string | null;
  status: UpstreamJobStatus;
  /** ISO 8601 as sent by Pixelbyte; null when absent. */
  estimatedCompletionTime: string | null;
  /** What Pixelbyte charged the operator's account for this job. */
  costMicroCents: bigint;
}

export interface UpstreamOutput {
  url: string;
  /** `video` | `image` | `audio` | `text` per the docs; kept as sent. */
  type: string | null;
  thumbnail: string | null;
  posterImage: string | null;
}

export interface UpstreamJobError {
  code: string;
  message: string;
}

export interface UpstreamJob {
  jobId: string;
  status: UpstreamJobStatus;
  /** 0..100; null when absent. */
  progress: number | null;
  /** The first output URL, or null. */
  output: string | null;
  outputs: UpstreamOutput[];
  error: UpstreamJobError | null;
  createdAt: string | null;
  completedAt: string | null;
}

export interface ListJobsQuery {
  /** 1..100, Pixelbyte's default is 20. */
  limit?: number | undefined;
  cursor?: string | undefined;
  status?: UpstreamJobStatus | undefined;
  modelId?: string | undefined;
}

export interface UpstreamJobSummary {
  jobId: string;
  status: UpstreamJobStatus;
  progress: number | null;
  model: string | null;
  createdAt: string | null;
  completedAt: string | null;
}

export interface ListJobsResponse {
  jobs: UpstreamJobSummary[];
  nextCursor: string | null;
  hasMore: boolean;
}

export interface CancelJobResponse {
  jobId: string;
  status: UpstreamJobStatus;
  /** Refunded to the operator's Pixelbyte account (the full job cost per the docs). */
  refundedMicroCents: bigint;
}

export interface EstimateRequest {
  model: string;
  version?: string | undefined;
  input?: Record<string, unknown> | undefined;
}

export interface EstimateResponse {
  baseCostMicroCents: bigint;
  estimatedCostMicroCents: bigint;
  breakdown: Array<{ component: string; costMicroCents: bigint }>;
  hasDiscount: boolean;
  /** Undocumented shape; passed through as sent (null when absent). */
  discounted: unknown;
}

export interface UpstreamModelVersion {
  versionId: string;
  status: string | null;
  inputSchema: unknown;
  pricing: unknown;
  rateLimits: unknown;
}

export interface UpstreamModel {
  id: string;
  name: string | null;
  category: string | null;
  currentVersion: string | null;
  versions: UpstreamModelVersion[];
}
