import type { UpstreamJobStatus, UpstreamOutput } from '../types.ts';

export type WebhookMode = 'normal' | 'duplicate' | 'delayed' | 'out_of_order' | 'none';
export type SimOutcome = 'completed' | 'failed';
export type Envelope = 'flat' | 'wrapped' | 'mixed';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number | undefined;
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /** The only accepted `Authorization: Bearer` key; default `pb_test_key`. */
  apiKey?: string | undefined;
  /** The simulated Pixelbyte account balance; default 1_000_000_000_000 (one million dollars). */
  balanceMicroCents?: bigint | undefined;
  /** Jobs pending or processing at once before submits get 429 CONCURRENT_JOBS_EXCEEDED; default 1000. */
  concurrentJobsCap?: number | undefined;
  /** Time a job stays pending, then processing, when `autoAdvance` is on; defaults 20 ms and 30 ms. */
  pendingMs?: number | undefined;
  processingMs?: number | undefined;
  /** Default true. False: jobs stay pending until `control.advance()`. */
  autoAdvance?: boolean | undefined;
  /** Final state of jobs that reach the end of processing; default `completed`. */
  outcome?: SimOutcome | undefined;
  webhooks?:
    | {
        /** Default true. */
        enabled?: boolean | undefined;
        /** HMAC secret for `X-PixelByte-Signature`; default `whsec_test`. */
        secret?: string | undefined;
        /** Accept (and deliver to) http:// webhook URLs; default false (https only, like Pixelbyte). */
        allowHttp?: boolean | undefined;
        /** Delay before each retry after a non-2xx answer; default 1, 4, 16, 64, 256 s. */
        retryDelaysMs?: number[] | undefined;
        /** Per-attempt delivery timeout; default 5000 ms. */
        timeoutMs?: number | undefined;
      }
    | undefined;
  /** Envelope of success responses: flat objects, `{success,data,requestId}`, or alternating. Default flat. */
  envelope?: Envelope | undefined;
  /** Send numeric fields (amounts, progress) as strings, as some doc examples do. Default false. */
  stringNumbers?: boolean | undefined;
  /**
   * Read test mode's magic inputs (`[tollgate:fail]`, `[tollgate:reject]`, `[tollgate:unknown]`,
   * `[tollgate:slow]`, magic.ts) in submitted inputs and produce those outcomes. Default false.
   */
  magicInputs?: boolean | undefined;
  /** Receives one human-readable line per notable event. */
  log?: ((line: string) => void) | undefined;
}

export interface SimJob {
  jobId: string;
  requestId: string;
  model: string;
  version: string | null;
  /** The input exactly as received (strings stay strings). */
  input: Record<string, unknown>;
  webhookUrl: string | null;
  status: UpstreamJobStatus;
  progress: number;
  /** List price charged to the simulated account at submit. */
  costMicroCents: bigint;
  /** Refunded to the simulated account (failed or cancelled); 0 otherwise. */
  refundedMicroCents: bigint;
  output: string | null;
  outputs: UpstreamOutput[];
  error: { code: string; message: string } | null;
  createdAt: string;
  completedAt: string | null;
  estimatedCompletionTime: string;
  /** The submit request as received: lower-cased headers and the raw body. */
  request: { headers: Record<string, string>; body: string };
  /** True when the submit's answer was deliberately lost (`loseAnswerNextSubmits`). */
  answerLost: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Epoch ms. */
  at: number;
  /** The client's TCP port: equal ports mean one kept-alive connection. Null outside a real server. */
  remotePort: number | null;
}

export interface WebhookDelivery {
  jobId: string;
  url: string;
  /** HTTP status of the receiver's answer; absent when no answer (network error, timeout). */
  status?: number;
  /** 1 for the first try, 2.. for retries. */
  attempt: number;
  body: string;
  headers: Record<string, string>;
  /** Why the attempt failed without an HTTP answer. */
  error?: string;
  at: number;
}

export interface SimCounts {
  /** Every POST /v1/jobs/submit received (accepted or not). */
  submitsReceived: number;
  jobsCreated: number;
  byStatus: Record<UpstreamJobStatus, number>;
  webhookDeliveries: number;
}

export interface SimControl {
  /** The next `count` (default 1) submits, optionally only those for `model`, get this error; no job is created. */
  failNextSubmits(opts: {
    code: string;
    status?: number | undefined;
    count?: number | undefined;
    model?: string | undefined;
  }): void;
  /** The next `count` submits are never answered (until close); no job is created. */
  hangNextSubmits(count?: number): void;
  /** The next `count` submits create and charge the job, then the socket is destroyed without an answer. */
  loseAnswerNextSubmits(count?: number): void;
  /**
   * The next `count` submits create nothing and charge nothing, and are answered 200 with the job
   * created last (its id, cost and status): a misbehaving upstream that links two of the caller's
   * submits to one upstream job. No effect while no job exists yet.
   */
  answerWithPreviousJobNextSubmits(count?: number): void;
  /** Added before every /v1 request is handled. */
  setLatencyMs(ms: number): void;
  /**
   * The next `count` (default 1) cancels answer 200 `{ jobId, status, refundedMicroCents: 0 }` with this
   * status and cancel nothing: an answer the docs do not describe, for the gateway's handling of it.
   */
  misanswerNextCancels(opts: { status: SimJob['status']; count?: number | undefined }): void;
  /** The next `count` (default 1) GET /v1/jobs and GET /v1/jobs/{id} answer with this error. */
  failNextStatusReads(opts: { status: number; code: string; count?: number | undefined }): void;
  /** How terminal-state webhooks are sent from now on (see README). */
  webhookMode(mode: WebhookMode, opts?: { delayMs?: number | undefined }): void;
  /** Final state for a job, a model, or (neither given) every job; job beats model beats default. */
  setOutcome(outcome: SimOutcome, opts?: { model?: string | undefined; jobId?: string | undefined }): void;
  /**
   * Moves a job forward: to the next state, or straight to `to` (pending → completed is allowed). Resolves when the
   * first webhook attempt(s) of a terminal transition finished (not waiting for delayed or retried ones).
   * Rejects for an unknown job or a move backwards / out of a terminal state.
   */
  advance(jobId: string, to?: 'processing' | 'completed' | 'failed'): Promise<void>;
  setBalance(micro: bigint): void;
  balance(): bigint;
  jobs(): SimJob[];
  job(jobId: string): SimJob | undefined;
  requests(): RecordedRequest[];
  webhookDeliveries(): WebhookDelivery[];
  counts(): SimCounts;
  /** Forgets jobs, requests, deliveries and faults; restores the initial balance, outcome and webhook mode. */
  reset(): void;
}

export interface Simulator {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  apiKey: string;
  /** The webhook signing secret. */
  webhookSecret: string;
  control: SimControl;
  close(): Promise<void>;
}
