/**
 * The simulated Pixelbyte account: jobs, balance, lifecycle timers, fault switches and webhooks.
 * It knows nothing about HTTP; app.ts maps requests onto it.
 */
import { randomBytes } from 'node:crypto';
import { DOCUMENTED_ERROR_STATUS } from '../errors.ts';
import {
  isTerminalStatus,
  UPSTREAM_JOB_STATUSES,
  type UpstreamJobStatus,
  type UpstreamOutput,
} from '../types.ts';
import { magicInputsOf, SLOW_PROCESSING_MS } from './magic.ts';
import { describeModel, type PricedJob, priceJob, SIM_MODEL_VERSION } from './pricing.ts';
import type {
  RecordedRequest,
  SimControl,
  SimCounts,
  SimJob,
  SimOutcome,
  SimulatorOptions,
  WebhookDelivery,
  WebhookMode,
} from './types.ts';
import { createWebhookSender, type WebhookSender } from './webhooks.ts';

/** A Pixelbyte-style error: HTTP status + code. */
export interface SimError {
  status: number;
  code: string;
  message: string;
}

export type SimResult<T> = { ok: true; value: T } | { ok: false; error: SimError };

/** HTTP status of a documented error code (used when a test injects a code without a status). */
export function statusForCode(code: string): number {
  return DOCUMENTED_ERROR_STATUS[code] ?? 500;
}

const DEFAULT_RETRY_DELAYS_MS = [1_000, 4_000, 16_000, 64_000, 256_000];
const DEFAULT_BALANCE_MICRO_CENTS = 1_000_000_000_000n;
const OUTPUT_HOST = 'https://cdn.pixelbyte.sim';
/** Most recent requests kept by `control.requests()`. */
export const MAX_RECORDED = 10_000;

export interface SubmitBody {
  model: string;
  version?: string | undefined;
  input: Record<string, unknown>;
  webhookUrl?: string | undefined;
}

interface FailRule {
  code: string;
  status: number;
  remaining: number;
  model: string | undefined;
}

export type Engine = ReturnType<typeof createEngine>;

export function createEngine(opts: SimulatorOptions) {
  const log = opts.log ?? (() => {});
  const initialBalance = opts.balanceMicroCents ?? DEFAULT_BALANCE_MICRO_CENTS;
  const concurrentJobsCap = opts.concurrentJobsCap ?? 1000;
  const pendingMs = opts.pendingMs ?? 20;
  const processingMs = opts.processingMs ?? 30;
  const autoAdvance = opts.autoAdvance ?? true;
  const initialOutcome: SimOutcome = opts.outcome ?? 'completed';
  const webhooksEnabled = opts.webhooks?.enabled ?? true;
  const allowHttpWebhooks = opts.webhooks?.allowHttp ?? false;
  const webhookSecret = opts.webhooks?.secret ?? 'whsec_test';
  const retryDelaysMs = opts.webhooks?.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;

  // Mutable state; reset() restores it.
  let balance = initialBalance;
  let jobs = new Map<string, SimJob>();
  // Pricing details kept aside so outputs can follow the model category and num_images.
  let pricedByJob = new Map<string, PricedJob>();
  // Ids of pending/processing jobs (the concurrency cap), kept so a submit never scans every job.
  let activeJobs = new Set<string>();
  let requests: RecordedRequest[] = [];
  let submitsReceived = 0;
  let failRules: FailRule[] = [];
  let hangCount = 0;
  let loseCount = 0;
  let previousJobAnswers = 0;
  let lastCreatedJobId: string | undefined;
  let latencyMs = 0;
  let statusReadFailures: { status: number; code: string; remaining: number }[] = [];
  /** Statuses the next cancels answer with, without cancelling (undocumented upstream behaviour). */
  let cancelMisanswers: SimJob['status'][] = [];
  let defaultOutcome = initialOutcome;
  let outcomeByModel = new Map<string, SimOutcome>();
  let outcomeByJob = new Map<string, SimOutcome>();
  /** Per-job processing time (test mode's `[tollgate:slow]`). */
  const processingMsByJob = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();

  const webhooks: WebhookSender = createWebhookSender({
    secret: webhookSecret,
    retryDelaysMs,
    timeoutMs: opts.webhooks?.timeoutMs ?? 5_000,
    log,
  });

  function newId(prefix: string): string {
    // 12 lower-case base-36 characters, like `job_abc123def456`.
    const bytes = randomBytes(12);
    let id = '';
    for (const b of bytes) id += (b % 36).toString(36);
    return `${prefix}_${id}`;
  }

  function webhookUrlError(url: string): SimError | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { status: 400, code: 'INVALID_WEBHOOK_URL', message: 'webhookUrl is not a valid URL' };
    }
    if (parsed.protocol === 'https:') return undefined;
    if (parsed.protocol === 'http:' && allowHttpWebhooks) return undefined;
    return {
      status: 400,
      code: 'INVALID_WEBHOOK_URL',
      message: allowHttpWebhooks ? 'webhookUrl must be http(s)' : 'webhookUrl must use https',
    };
  }

  /** The injected error for this submit, if any rule matches (consumes one use). */
  function takeInjectedFailure(model: string | undefined): SimError | undefined {
    const rule = failRules.find((r) => r.remaining > 0 && (r.model === undefined || r.model === model));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    failRules = failRules.filter((r) => r.remaining > 0);
    return { status: rule.status, code: rule.code, message: `${rule.code} (injected by the simulator)` };
  }

  function takeHang(): boolean {
    if (hangCount <= 0) return false;
    hangCount -= 1;
    return true;
  }

  function takeLoseAnswer(): boolean {
    if (loseCount <= 0) return false;
    loseCount -= 1;
    return true;
  }

  /** The job created last, when a submit is to be answered with it instead of a new one (fault). */
  function takePreviousJobAnswer(): SimJob | undefined {
    const previous = lastCreatedJobId === undefined ? undefined : jobs.get(lastCreatedJobId);
    if (previousJobAnswers <= 0 || previous === undefined) return undefined;
    previousJobAnswers -= 1;
    log(`submit answered with the previous job ${previous.jobId}, nothing created (fault)`);
    return previous;
  }

  function takeStatusReadFailure(): SimError | undefined {
    const rule = statusReadFailures[0];
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) statusReadFailures.shift();
    return { status: rule.status, code: rule.code, message: `${rule.code} (injected by the simulator)` };
  }

  function submit(
    body: SubmitBody,
    request: { headers: Record<string, string>; body: string },
  ): SimResult<SimJob> {
    if (body.webhookUrl !== undefined) {
      const err = webhookUrlError(body.webhookUrl);
      if (err) return { ok: false, error: err };
    }
    const priced = priceJob(body.model, body.input);
    if (!priced.ok) return { ok: false, error: priced.error };
    if (body.version !== undefined && body.version !== SIM_MODEL_VERSION) {
      return {
        ok: false,
        error: {
          status: 404,
          code: 'MODEL_VERSION_NOT_FOUND',
          message: `model ${body.model} has no version ${body.version}`,
        },
      };
    }
    if (activeJobs.size >= concurrentJobsCap) {
      return {
        ok: false,
        error: {
          status: 429,
          code: 'CONCURRENT_JOBS_EXCEEDED',
          message: `at most ${concurrentJobsCap} jobs may be pending or processing at once`,
        },
      };
    }
    if (balance < priced.costMicroCents) {
      return {
        ok: false,
        error: {
          status: 402,
          code: 'INSUFFICIENT_BALANCE',
          message: `balance ${balance} is below the job cost ${priced.costMicroCents} micro-cents`,
        },
      };
    }
    balance -= priced.costMicroCents;
    const now = Date.now();
    const job: SimJob = {
      jobId: newId('job'),
      requestId: newId('req'),
      model: body.model,
      version: body.version ?? null,
      input: body.input,
      webhookUrl: body.webhookUrl ?? null,
      status: 'pending',
      progress: 0,
      costMicroCents: priced.costMicroCents,
      refundedMicroCents: 0n,
      output: null,
      outputs: [],
      error: null,
      createdAt: new Date(now).toISOString(),
      completedAt: null,
      estimatedCompletionTime: new Date(now + pendingMs + processingMs).toISOString(),
      request,
      answerLost: false,
    };
    jobs.set(job.jobId, job);
    lastCreatedJobId = job.jobId;
    pricedByJob.set(job.jobId, priced);
    if (opts.magicInputs === true) {
      const magic = magicInputsOf(body.input);
      if (magic.has('fail')) outcomeByJob.set(job.jobId, 'failed');
      if (magic.has('slow')) {
        processingMsByJob.set(job.jobId, SLOW_PROCESSING_MS);
        job.estimatedCompletionTime = new Date(now + pendingMs + SLOW_PROCESSING_MS).toISOString();
      }
    }
    activeJobs.add(job.jobId);
    log(`job ${job.jobId} created: ${job.model}, ${job.costMicroCents} micro-cents, balance ${balance}`);
    schedule(job);
    return { ok: true, value: job };
  }

  function schedule(job: SimJob): void {
    clearTimer(job.jobId);
    if (!autoAdvance || isTerminalStatus(job.status)) return;
    const delay = job.status === 'pending' ? pendingMs : (processingMsByJob.get(job.jobId) ?? processingMs);
    const timer = setTimeout(() => {
      timers.delete(job.jobId);
      void advance(job.jobId).catch((err: unknown) =>
        log(`auto-advance of ${job.jobId} failed: ${String(err)}`),
      );
    }, delay);
    timers.set(job.jobId, timer);
  }

  function clearTimer(jobId: string): void {
    const timer = timers.get(jobId);
    if (timer !== undefined) clearTimeout(timer);
    timers.delete(jobId);
  }

  function outcomeFor(job: SimJob): SimOutcome {
    return outcomeByJob.get(job.jobId) ?? outcomeByModel.get(job.model) ?? defaultOutcome;
  }

  function outputsFor(job: SimJob): UpstreamOutput[] {
    const priced = pricedByJob.get(job.jobId);
    const base = `${OUTPUT_HOST}/jobs/${job.jobId}`;
    if (priced?.category === 'image') {
      const count = Math.max(1, priced.outputCount);
      return Array.from({ length: count }, (_, i) => ({
        url: `${base}/image-${i}.png`,
        type: 'image',
        thumbnail: `${base}/image-${i}-thumb.jpg`,
        posterImage: null,
      }));
    }
    return [
      {
        url: `${base}/video-0.mp4`,
        type: 'video',
        thumbnail: `${base}/video-0-thumb.jpg`,
        posterImage: `${base}/video-0-poster.jpg`,
      },
    ];
  }

  async function advance(jobId: string, to?: 'processing' | 'completed' | 'failed'): Promise<void> {
    const job = jobs.get(jobId);
    if (job === undefined) throw new SimControlError(404, `no job ${jobId}`);
    if (isTerminalStatus(job.status)) throw new SimControlError(409, `job ${jobId} is already ${job.status}`);
    const target = to ?? (job.status === 'pending' ? 'processing' : outcomeFor(job));
    if (target === 'processing') {
      if (job.status !== 'pending') throw new SimControlError(409, `job ${jobId} is already processing`);
      job.status = 'processing';
      job.progress = 50;
      log(`job ${jobId} processing`);
      schedule(job);
      return;
    }
    clearTimer(jobId);
    activeJobs.delete(jobId);
    job.completedAt = new Date().toISOString();
    if (target === 'completed') {
      job.status = 'completed';
      job.progress = 100;
      job.outputs = outputsFor(job);
      job.output = job.outputs[0]?.url ?? null;
    } else {
      // Pixelbyte refunds failed jobs in full.
      job.status = 'failed';
      job.error = {
        code: 'GENERATION_FAILED',
        message: 'The provider could not generate this output (simulated).',
      };
      job.refundedMicroCents = job.costMicroCents;
      balance += job.costMicroCents;
    }
    log(`job ${jobId} ${job.status}`);
    if (webhooksEnabled && job.webhookUrl !== null) await webhooks.jobFinished(job);
  }

  function cancel(jobId: string): SimResult<SimJob> {
    const job = jobs.get(jobId);
    if (job === undefined)
      return { ok: false, error: { status: 404, code: 'JOB_NOT_FOUND', message: `no job ${jobId}` } };
    const misanswer = cancelMisanswers.shift();
    if (misanswer !== undefined) {
      log(`job ${jobId}: cancel answered 200 with status ${misanswer}, nothing cancelled (fault)`);
      return { ok: true, value: { ...job, status: misanswer, refundedMicroCents: 0n } };
    }
    if (job.status !== 'pending') {
      return {
        ok: false,
        error: {
          status: 400,
          code: 'JOB_CANNOT_BE_CANCELLED',
          message: `only pending jobs can be cancelled; job ${jobId} is ${job.status}`,
        },
      };
    }
    clearTimer(jobId);
    activeJobs.delete(jobId);
    job.status = 'cancelled';
    job.completedAt = new Date().toISOString();
    job.refundedMicroCents = job.costMicroCents;
    balance += job.costMicroCents;
    log(`job ${jobId} cancelled, refunded ${job.costMicroCents}`);
    return { ok: true, value: job };
  }

  function list(q: {
    limit: number;
    cursor: string | undefined;
    status: UpstreamJobStatus | undefined;
    modelId: string | undefined;
  }): SimResult<{ jobs: SimJob[]; nextCursor: string | null; hasMore: boolean }> {
    // Newest first; the cursor is the id of the last job of the previous page.
    let all = [...jobs.values()].reverse();
    if (q.status !== undefined) all = all.filter((j) => j.status === q.status);
    if (q.modelId !== undefined) all = all.filter((j) => j.model === q.modelId);
    let start = 0;
    if (q.cursor !== undefined) {
      const index = all.findIndex((j) => j.jobId === q.cursor);
      if (index < 0)
        return { ok: false, error: { status: 400, code: 'INVALID_INPUT', message: 'unknown cursor' } };
      start = index + 1;
    }
    const page = all.slice(start, start + q.limit);
    const hasMore = start + q.limit < all.length;
    const last = page.at(-1);
    return { ok: true, value: { jobs: page, nextCursor: hasMore && last ? last.jobId : null, hasMore } };
  }

  function counts(): SimCounts {
    const byStatus = Object.fromEntries(UPSTREAM_JOB_STATUSES.map((s) => [s, 0])) as Record<
      UpstreamJobStatus,
      number
    >;
    for (const job of jobs.values()) byStatus[job.status] += 1;
    return {
      submitsReceived,
      jobsCreated: jobs.size,
      byStatus,
      webhookDeliveries: webhooks.deliveries().length,
    };
  }

  function reset(): void {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    webhooks.reset();
    balance = initialBalance;
    jobs = new Map();
    pricedByJob = new Map();
    activeJobs = new Set();
    requests = [];
    submitsReceived = 0;
    failRules = [];
    hangCount = 0;
    loseCount = 0;
    previousJobAnswers = 0;
    lastCreatedJobId = undefined;
    latencyMs = 0;
    statusReadFailures = [];
    cancelMisanswers = [];
    defaultOutcome = initialOutcome;
    outcomeByModel = new Map();
    outcomeByJob = new Map();
  }

  async function close(): Promise<void> {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    await webhooks.close();
  }

  return {
    webhookSecret,
    log,
    submit,
    cancel,
    list,
    advance,
    counts,
    reset,
    close,
    describeModel: (modelId: string) => describeModel(modelId, concurrentJobsCap),
    estimate: priceJob,
    getJob: (jobId: string) => jobs.get(jobId),
    jobs: () => [...jobs.values()],
    requests: () => requests,
    record(req: RecordedRequest, isSubmit: boolean): void {
      requests.push(req);
      // Bounded so a long benchmark run does not grow without limit; tests stay far below.
      if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED);
      if (isSubmit) submitsReceived += 1;
    },
    latencyMs: () => latencyMs,
    takeInjectedFailure,
    takeHang,
    takeLoseAnswer,
    takePreviousJobAnswer,
    takeStatusReadFailure,
    /** Test mode's magic inputs in `input` (none unless the simulator was started with `magicInputs`). */
    magicInputsOf(input: Record<string, unknown>) {
      return opts.magicInputs === true ? magicInputsOf(input) : new Set<never>();
    },
    markAnswerLost(job: SimJob): void {
      job.answerLost = true;
    },
    control: {
      failNextSubmits(o: Parameters<SimControl['failNextSubmits']>[0]): void {
        failRules.push({
          code: o.code,
          status: o.status ?? statusForCode(o.code),
          remaining: o.count ?? 1,
          model: o.model,
        });
      },
      hangNextSubmits(count = 1): void {
        hangCount += count;
      },
      loseAnswerNextSubmits(count = 1): void {
        loseCount += count;
      },
      answerWithPreviousJobNextSubmits(count = 1): void {
        previousJobAnswers += count;
      },
      setLatencyMs(ms: number): void {
        latencyMs = ms;
      },
      misanswerNextCancels(o: Parameters<SimControl['misanswerNextCancels']>[0]): void {
        for (let i = 0; i < (o.count ?? 1); i += 1) cancelMisanswers.push(o.status);
      },
      failNextStatusReads(o: Parameters<SimControl['failNextStatusReads']>[0]): void {
        statusReadFailures.push({ status: o.status, code: o.code, remaining: o.count ?? 1 });
      },
      webhookMode(mode: WebhookMode, o?: Parameters<SimControl['webhookMode']>[1]): void {
        webhooks.setMode(mode, o?.delayMs);
      },
      setOutcome(outcome: SimOutcome, o?: Parameters<SimControl['setOutcome']>[1]): void {
        if (o?.jobId !== undefined) outcomeByJob.set(o.jobId, outcome);
        else if (o?.model !== undefined) outcomeByModel.set(o.model, outcome);
        else defaultOutcome = outcome;
      },
      advance,
      setBalance(micro: bigint): void {
        balance = micro;
      },
      balance: () => balance,
      jobs: () => [...jobs.values()].map(cloneJob),
      job: (jobId: string) => {
        const job = jobs.get(jobId);
        return job === undefined ? undefined : cloneJob(job);
      },
      requests: () => requests.map((r) => ({ ...r, headers: { ...r.headers } })),
      webhookDeliveries: (): WebhookDelivery[] => webhooks.deliveries(),
      counts,
      reset,
    } satisfies SimControl,
  };
}

function cloneJob(job: SimJob): SimJob {
  return structuredClone(job);
}

/** A control call that cannot be done (unknown job, move backwards); `status` is used by the HTTP control API. */
export class SimControlError extends Error {
  override readonly name = 'SimControlError';
  constructor(
    readonly status: 404 | 409 | 400,
    message: string,
  ) {
    super(message);
  }
}
