import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPixelbyteClient, type PbResult, type PixelbyteClient, type PixelbyteError } from './index.ts';
import { type Simulator, startSimulator } from './simulator/index.ts';
import { startScriptedServer, waitFor } from './test-utils.ts';

const WAN = 'alibaba-plus/wan-2.6-flash/image-to-video';
const WAN_INPUT = { prompt: 'a fox in the snow', image_url: 'https://example.com/fox.png', duration: '5' };
const WAN_COST = 2_500_000n; // 500,000/s × 5 s × 720p 1
const IMAGE = 'pixelbyte-plus/pixel-image-1.0/text-to-image';

function expectOk<T>(result: PbResult<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function expectError<T>(result: PbResult<T>): PixelbyteError {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value, bigintReplacer)}`);
  return result.error;
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('client against the simulator', () => {
  let sim: Simulator;
  let client: PixelbyteClient;

  beforeAll(async () => {
    sim = await startSimulator({ autoAdvance: false });
    client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });
  beforeEach(() => sim.control.reset());

  describe('submitJob', () => {
    it('submits with Bearer auth and returns the job, charged at list price', async () => {
      const before = sim.control.balance();
      const result = await client.submitJob({ model: WAN, input: WAN_INPUT });
      const job = expectOk(result);
      expect(job.jobId).toMatch(/^job_[a-z0-9]{12}$/);
      expect(job.requestId).toMatch(/^req_[a-z0-9]{12}$/);
      expect(result.ok && result.requestId).toBe(job.requestId);
      expect(job.status).toBe('pending');
      expect(job.costMicroCents).toBe(WAN_COST);
      expect(Number.isNaN(Date.parse(job.estimatedCompletionTime ?? ''))).toBe(false);
      expect(sim.control.balance()).toBe(before - WAN_COST);

      const [simJob] = sim.control.jobs();
      expect(simJob?.jobId).toBe(job.jobId);
      expect(simJob?.request.headers.authorization).toBe(`Bearer ${sim.apiKey}`);
      expect(simJob?.request.headers['content-type']).toBe('application/json');
      expect(JSON.parse(simJob?.request.body ?? '')).toEqual({ model: WAN, input: WAN_INPUT });
    });

    it('sends input values as given, string or number, and both price the same', async () => {
      const asStrings = expectOk(
        await client.submitJob({ model: WAN, input: { ...WAN_INPUT, duration: '10', resolution: '1080p' } }),
      );
      const asNumbers = expectOk(
        await client.submitJob({ model: WAN, input: { ...WAN_INPUT, duration: 10, resolution: '1080p' } }),
      );
      expect(asStrings.costMicroCents).toBe(7_500_000n);
      expect(asNumbers.costMicroCents).toBe(7_500_000n);
      const veo = 'google/veo-3.1-fast/text-to-video';
      const soundString = expectOk(
        await client.submitJob({ model: veo, input: { prompt: 'x', duration: '8', has_sound: 'true' } }),
      );
      const soundBool = expectOk(
        await client.submitJob({ model: veo, input: { prompt: 'x', duration: 8, has_sound: true } }),
      );
      expect(soundString.costMicroCents).toBe(2_400_000n);
      expect(soundBool.costMicroCents).toBe(2_400_000n);
      expect(sim.control.job(asStrings.jobId)?.input.duration).toBe('10');
      expect(sim.control.job(asNumbers.jobId)?.input.duration).toBe(10);
    });

    it('passes version and webhookUrl through', async () => {
      const job = expectOk(
        await client.submitJob({
          model: WAN,
          version: 'v1',
          input: WAN_INPUT,
          webhookUrl: 'https://hooks.example.com/pb',
        }),
      );
      const recorded = sim.control.job(job.jobId);
      expect(recorded?.version).toBe('v1');
      expect(recorded?.webhookUrl).toBe('https://hooks.example.com/pb');
    });
  });

  describe('rejected: Pixelbyte answered with an error, no job was created, nothing was charged', () => {
    const cases: Array<{
      name: string;
      arrange?: (s: Simulator) => void;
      apiKey?: string;
      req: { model: string; input: Record<string, unknown>; version?: string; webhookUrl?: string };
      status: number;
      code: string;
    }> = [
      {
        name: 'wrong API key',
        apiKey: 'pb_wrong',
        req: { model: WAN, input: WAN_INPUT },
        status: 401,
        code: 'INVALID_API_KEY',
      },
      { name: 'unknown model', req: { model: 'acme/nope', input: {} }, status: 404, code: 'MODEL_NOT_FOUND' },
      {
        name: 'unknown version',
        req: { model: WAN, version: 'v9', input: WAN_INPUT },
        status: 404,
        code: 'MODEL_VERSION_NOT_FOUND',
      },
      {
        name: 'invalid input',
        req: { model: WAN, input: { ...WAN_INPUT, duration: '99' } },
        status: 400,
        code: 'INVALID_INPUT',
      },
      {
        name: 'missing required input',
        req: { model: WAN, input: { duration: '5' } },
        status: 400,
        code: 'INVALID_INPUT',
      },
      {
        name: 'http webhook URL',
        req: { model: WAN, input: WAN_INPUT, webhookUrl: 'http://hooks.example.com/pb' },
        status: 400,
        code: 'INVALID_WEBHOOK_URL',
      },
      {
        name: 'account balance too low',
        arrange: (s) => s.control.setBalance(WAN_COST - 1n),
        req: { model: WAN, input: WAN_INPUT },
        status: 402,
        code: 'INSUFFICIENT_BALANCE',
      },
      {
        name: 'injected 500 with an error body (an answer was received: definitive)',
        arrange: (s) => s.control.failNextSubmits({ code: 'INTERNAL_ERROR' }),
        req: { model: WAN, input: WAN_INPUT },
        status: 500,
        code: 'INTERNAL_ERROR',
      },
      {
        name: 'injected 503',
        arrange: (s) => s.control.failNextSubmits({ code: 'PUBSUB_PUBLISH_FAILED' }),
        req: { model: WAN, input: WAN_INPUT },
        status: 503,
        code: 'PUBSUB_PUBLISH_FAILED',
      },
      {
        name: 'injected code with an explicit status',
        arrange: (s) => s.control.failNextSubmits({ code: 'USER_BANNED', status: 403 }),
        req: { model: WAN, input: WAN_INPUT },
        status: 403,
        code: 'USER_BANNED',
      },
    ];

    it.each(cases)('$name → $status $code', async ({ arrange, apiKey, req, status, code }) => {
      arrange?.(sim);
      const balance = sim.control.balance();
      const c = apiKey ? createPixelbyteClient({ baseUrl: sim.url, apiKey }) : client;
      try {
        const error = expectError(await c.submitJob(req));
        expect(error).toMatchObject({ outcome: 'rejected', status, code });
        expect(error.message).not.toBe('');
        expect(error.requestId).toMatch(/^req_/);
        expect(sim.control.counts().jobsCreated).toBe(0);
        expect(sim.control.balance()).toBe(balance);
      } finally {
        if (c !== client) await c.close();
      }
    });

    it('a missing Authorization header is 401 UNAUTHORIZED', async () => {
      const res = await fetch(`${sim.url}/v1/jobs/job_x`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    });

    it('429 CONCURRENT_JOBS_EXCEEDED once the cap of running jobs is reached', async () => {
      const capped = await startSimulator({ autoAdvance: false, concurrentJobsCap: 1 });
      const c = createPixelbyteClient({ baseUrl: capped.url, apiKey: capped.apiKey });
      try {
        const first = expectOk(await c.submitJob({ model: WAN, input: WAN_INPUT }));
        expect(expectError(await c.submitJob({ model: WAN, input: WAN_INPUT }))).toMatchObject({
          outcome: 'rejected',
          status: 429,
          code: 'CONCURRENT_JOBS_EXCEEDED',
        });
        await capped.control.advance(first.jobId, 'completed');
        expectOk(await c.submitJob({ model: WAN, input: WAN_INPUT }));
      } finally {
        await c.close();
        await capped.close();
      }
    });

    it('failNextSubmits can target one model and a number of submits', async () => {
      sim.control.failNextSubmits({ code: 'MODEL_ACCESS_DENIED', model: IMAGE, count: 2 });
      expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      for (let i = 0; i < 2; i += 1) {
        expect(expectError(await client.submitJob({ model: IMAGE, input: { prompt: 'x' } }))).toMatchObject({
          outcome: 'rejected',
          status: 403,
          code: 'MODEL_ACCESS_DENIED',
        });
      }
      expectOk(await client.submitJob({ model: IMAGE, input: { prompt: 'x' } }));
      expect(sim.control.counts()).toMatchObject({ submitsReceived: 4, jobsCreated: 2 });
    });
  });

  describe('unknown: the request may have reached Pixelbyte', () => {
    it('answer lost after the job was created: the simulator has the charged job, the client reports unknown', async () => {
      const balance = sim.control.balance();
      sim.control.loseAnswerNextSubmits();
      const error = expectError(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      expect(error).toMatchObject({ outcome: 'unknown', code: 'CONNECTION_LOST' });
      expect(error.status).toBeUndefined();
      const jobs = sim.control.jobs();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({
        model: WAN,
        status: 'pending',
        costMicroCents: WAN_COST,
        answerLost: true,
      });
      expect(sim.control.balance()).toBe(balance - WAN_COST);
      // The gateway can find it again by listing, and read it.
      const listed = expectOk(await client.listJobs({ modelId: WAN }));
      expect(listed.jobs.map((j) => j.jobId)).toEqual([jobs[0]?.jobId]);
      expect(expectOk(await client.getJob(jobs[0]?.jobId ?? '')).status).toBe('pending');
      // Only the next submit was affected.
      expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    });

    it('no answer at all (hang): TIMEOUT, unknown', async () => {
      const hasty = createPixelbyteClient({
        baseUrl: sim.url,
        apiKey: sim.apiKey,
        timeoutMs: 5_000,
        submitTimeoutMs: 150,
      });
      try {
        sim.control.hangNextSubmits();
        const error = expectError(await hasty.submitJob({ model: WAN, input: WAN_INPUT }));
        expect(error).toMatchObject({ outcome: 'unknown', code: 'TIMEOUT' });
        expect(sim.control.counts().submitsReceived).toBe(1);
        expect(sim.control.counts().jobsCreated).toBe(0);
        expectOk(await hasty.getJob(expectOk(await hasty.submitJob({ model: WAN, input: WAN_INPUT })).jobId));
      } finally {
        await hasty.close();
      }
    });

    it('a slow answer past submitTimeoutMs is unknown, and the job does get created', async () => {
      const hasty = createPixelbyteClient({
        baseUrl: sim.url,
        apiKey: sim.apiKey,
        timeoutMs: 5_000,
        submitTimeoutMs: 100,
      });
      try {
        sim.control.setLatencyMs(400);
        const error = expectError(await hasty.submitJob({ model: WAN, input: WAN_INPUT }));
        expect(error).toMatchObject({ outcome: 'unknown', code: 'TIMEOUT' });
        await waitFor('the late job to be created', () => sim.control.counts().jobsCreated === 1);
        // Reads use timeoutMs, not submitTimeoutMs.
        expect(expectOk(await hasty.listJobs()).jobs).toHaveLength(1);
      } finally {
        await hasty.close();
      }
    });
  });

  describe('not_sent: nothing left this process, safe to retry', () => {
    it('connection refused', async () => {
      const c = createPixelbyteClient({ baseUrl: await closedPortUrl(), apiKey: 'pb_x' });
      try {
        expect(expectError(await c.submitJob({ model: WAN, input: WAN_INPUT }))).toEqual({
          outcome: 'not_sent',
          code: 'CONNECTION_REFUSED',
          message: expect.stringContaining('ECONNREFUSED'),
        });
        expect(expectError(await c.getJob('job_x')).outcome).toBe('not_sent');
      } finally {
        await c.close();
      }
    });

    it('DNS failure', async () => {
      const c = createPixelbyteClient({
        baseUrl: 'http://pixelbyte.invalid',
        apiKey: 'pb_x',
        timeoutMs: 3_000,
      });
      try {
        const error = expectError(await c.submitJob({ model: WAN, input: WAN_INPUT }));
        expect(error.outcome).toBe('not_sent');
        // Without a resolver the lookup may also run into the deadline; it never connected either way.
        expect(['DNS_LOOKUP_FAILED', 'TIMEOUT']).toContain(error.code);
      } finally {
        await c.close();
      }
    });

    it('a failed TLS handshake (here, a server that does not speak TLS): no byte of the request left', async () => {
      // Accepts the TCP connection, answers the first bytes (the ClientHello) in plain HTTP and hangs up: the handshake
      // fails after 'connect' and before 'secureConnect', so the request was never sent.
      const received: Buffer[] = [];
      const plain = net.createServer((socket) => {
        socket.once('data', (chunk) => {
          received.push(chunk);
          socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
        });
      });
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const { port } = plain.address() as AddressInfo;
      const c = createPixelbyteClient({
        baseUrl: `https://127.0.0.1:${port}`,
        apiKey: 'pb_x',
        timeoutMs: 5_000,
      });
      try {
        const error = expectError(await c.submitJob({ model: WAN, input: WAN_INPUT }));
        expect(error).toMatchObject({ outcome: 'not_sent', code: 'CONNECTION_FAILED' });
        // What reached the server is a TLS ClientHello (record type 0x16), never the HTTP request.
        const bytes = Buffer.concat(received);
        expect(bytes[0]).toBe(0x16);
        expect(bytes.toString('latin1')).not.toContain('/v1/jobs/submit');
      } finally {
        await c.close();
        await new Promise((resolve) => plain.close(resolve));
      }
    });

    it('after close()', async () => {
      const c = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
      expectOk(await c.listJobs());
      await c.close();
      expect(expectError(await c.listJobs())).toMatchObject({ outcome: 'not_sent', code: 'CLIENT_CLOSED' });
      expect(expectError(await c.submitJob({ model: WAN, input: WAN_INPUT })).outcome).toBe('not_sent');
      expect(sim.control.counts().submitsReceived).toBe(0);
    });

    it('an input that cannot be encoded is refused locally', async () => {
      const error = expectError(await client.submitJob({ model: WAN, input: { ...WAN_INPUT, seed: 1n } }));
      expect(error).toMatchObject({ outcome: 'not_sent', code: 'INVALID_REQUEST' });
      expect(sim.control.counts().submitsReceived).toBe(0);
    });
  });

  describe('getJob', () => {
    it('follows the lifecycle pending → processing → completed', async () => {
      const { jobId } = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      expect(expectOk(await client.getJob(jobId))).toMatchObject({
        jobId,
        status: 'pending',
        progress: 0,
        output: null,
        outputs: [],
        error: null,
        completedAt: null,
      });
      await sim.control.advance(jobId);
      expect(expectOk(await client.getJob(jobId))).toMatchObject({ status: 'processing', progress: 50 });
      await sim.control.advance(jobId);
      const done = expectOk(await client.getJob(jobId));
      expect(done).toMatchObject({ status: 'completed', progress: 100, error: null });
      expect(done.outputs).toHaveLength(1);
      expect(done.outputs[0]).toMatchObject({
        type: 'video',
        url: expect.stringMatching(/^https:\/\/.+\.mp4$/),
      });
      expect(done.output).toBe(done.outputs[0]?.url);
      expect(Date.parse(done.completedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.createdAt ?? ''));
    });

    it('reports a failed job with its error, and the simulator refunds it', async () => {
      const balance = sim.control.balance();
      const { jobId, costMicroCents } = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      expect(sim.control.balance()).toBe(balance - costMicroCents);
      sim.control.setOutcome('failed', { jobId });
      await sim.control.advance(jobId, 'failed');
      const failed = expectOk(await client.getJob(jobId));
      expect(failed).toMatchObject({ status: 'failed', output: null, outputs: [] });
      expect(failed.error).toEqual({ code: expect.any(String), message: expect.any(String) });
      expect(sim.control.balance()).toBe(balance);
      expect(sim.control.job(jobId)?.refundedMicroCents).toBe(costMicroCents);
    });

    it('has one image output per num_images', async () => {
      const { jobId, costMicroCents } = expectOk(
        await client.submitJob({ model: IMAGE, input: { prompt: 'x', num_images: '3' } }),
      );
      expect(costMicroCents).toBe(90_000n);
      await sim.control.advance(jobId, 'completed');
      const job = expectOk(await client.getJob(jobId));
      expect(job.outputs.map((o) => o.type)).toEqual(['image', 'image', 'image']);
    });

    it('unknown job → rejected 404 JOB_NOT_FOUND', async () => {
      expect(expectError(await client.getJob('job_doesnotexist'))).toMatchObject({
        outcome: 'rejected',
        status: 404,
        code: 'JOB_NOT_FOUND',
      });
    });

    it('injected 5xx on status reads are rejected with their code, then reads recover', async () => {
      const { jobId } = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      sim.control.failNextStatusReads({ status: 503, code: 'PUBSUB_PUBLISH_FAILED', count: 2 });
      expect(expectError(await client.getJob(jobId))).toMatchObject({
        outcome: 'rejected',
        status: 503,
        code: 'PUBSUB_PUBLISH_FAILED',
      });
      expect(expectError(await client.listJobs())).toMatchObject({ status: 503 });
      expect(expectOk(await client.getJob(jobId)).jobId).toBe(jobId);
    });

    it('reuses one kept-alive connection for sequential calls', async () => {
      for (let i = 0; i < 3; i += 1) expectOk(await client.listJobs());
      const ports = new Set(sim.control.requests().map((r) => r.remotePort));
      expect(ports.size).toBe(1);
    });
  });

  describe('listJobs', () => {
    it('pages newest first with a cursor, and filters by status and model', async () => {
      const a = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      const b = expectOk(await client.submitJob({ model: IMAGE, input: { prompt: 'x' } }));
      const c = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      await sim.control.advance(a.jobId, 'completed');

      const first = expectOk(await client.listJobs({ limit: 2 }));
      expect(first.jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId]);
      expect(first.hasMore).toBe(true);
      expect(first.nextCursor).not.toBeNull();
      expect(first.jobs[1]).toMatchObject({ model: IMAGE, status: 'pending', progress: 0 });
      const second = expectOk(await client.listJobs({ limit: 2, cursor: first.nextCursor ?? '' }));
      expect(second.jobs.map((j) => j.jobId)).toEqual([a.jobId]);
      expect(second).toMatchObject({ hasMore: false, nextCursor: null });

      expect(expectOk(await client.listJobs({ status: 'completed' })).jobs.map((j) => j.jobId)).toEqual([
        a.jobId,
      ]);
      expect(expectOk(await client.listJobs({ modelId: WAN })).jobs.map((j) => j.jobId)).toEqual([
        c.jobId,
        a.jobId,
      ]);
    });

    it('refuses a bad limit', async () => {
      expect(expectError(await client.listJobs({ limit: 101 }))).toMatchObject({
        outcome: 'rejected',
        status: 400,
        code: 'INVALID_INPUT',
      });
    });
  });

  describe('cancelJob', () => {
    it('cancels a pending job and returns the refund', async () => {
      const balance = sim.control.balance();
      const { jobId } = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      const cancelled = expectOk(await client.cancelJob(jobId));
      expect(cancelled).toEqual({ jobId, status: 'cancelled', refundedMicroCents: WAN_COST });
      expect(sim.control.balance()).toBe(balance);
      expect(expectOk(await client.getJob(jobId)).status).toBe('cancelled');
      expect(expectError(await client.cancelJob(jobId))).toMatchObject({
        outcome: 'rejected',
        status: 400,
        code: 'JOB_CANNOT_BE_CANCELLED',
      });
      expect(sim.control.balance()).toBe(balance);
    });

    it('refuses to cancel a processing job, and an unknown one', async () => {
      const { jobId } = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
      await sim.control.advance(jobId, 'processing');
      expect(expectError(await client.cancelJob(jobId))).toMatchObject({
        status: 400,
        code: 'JOB_CANNOT_BE_CANCELLED',
      });
      expect(expectError(await client.cancelJob('job_nope'))).toMatchObject({
        status: 404,
        code: 'JOB_NOT_FOUND',
      });
    });
  });

  describe('estimate and getModel', () => {
    it('estimates without creating or charging a job', async () => {
      const balance = sim.control.balance();
      const estimate = expectOk(
        await client.estimate({
          model: 'google/veo-3.1-fast/text-to-video',
          input: { prompt: 'x', duration: '8', has_sound: 'true' },
        }),
      );
      expect(estimate.baseCostMicroCents).toBe(200_000n);
      expect(estimate.estimatedCostMicroCents).toBe(2_400_000n);
      expect(estimate.breakdown.reduce((sum, line) => sum + line.costMicroCents, 0n)).toBe(2_400_000n);
      expect(estimate.breakdown[0]).toEqual({ component: 'base', costMicroCents: 200_000n });
      expect(estimate.hasDiscount).toBe(false);
      expect(sim.control.counts().jobsCreated).toBe(0);
      expect(sim.control.balance()).toBe(balance);
      expect(expectError(await client.estimate({ model: 'acme/nope' }))).toMatchObject({
        status: 404,
        code: 'MODEL_NOT_FOUND',
      });
    });

    it('describes a model whose slug contains slashes', async () => {
      const model = expectOk(await client.getModel(WAN));
      expect(model).toMatchObject({ id: WAN, category: 'video', currentVersion: 'v1' });
      expect(model.versions[0]).toMatchObject({ versionId: 'v1', status: 'active' });
      expect(model.versions[0]?.inputSchema).toMatchObject({ type: 'object' });
      expect(expectError(await client.getModel('acme/nope/x'))).toMatchObject({
        status: 404,
        code: 'MODEL_NOT_FOUND',
      });
    });
  });
});

describe.each([
  { envelope: 'flat', stringNumbers: false },
  { envelope: 'wrapped', stringNumbers: false },
  { envelope: 'mixed', stringNumbers: false },
  { envelope: 'flat', stringNumbers: true },
  { envelope: 'wrapped', stringNumbers: true },
] as const)('envelope $envelope, stringNumbers $stringNumbers', ({ envelope, stringNumbers }) => {
  let sim: Simulator;
  let client: PixelbyteClient;
  beforeAll(async () => {
    sim = await startSimulator({ autoAdvance: false, envelope, stringNumbers });
    client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('the wire really uses that form', async () => {
    const raw = async () => {
      const res = await fetch(`${sim.url}/v1/jobs/estimate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: WAN, input: WAN_INPUT }),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    const bodies = [await raw(), await raw()];
    const wrapped = bodies.map((b) => b.success === true && typeof b.data === 'object');
    expect(wrapped).toEqual(
      envelope === 'flat'
        ? [false, false]
        : envelope === 'wrapped'
          ? [true, true]
          : [!wrapped[1], wrapped[1]],
    );
    for (const body of bodies) {
      const data = (body.success === true ? body.data : body) as Record<string, unknown>;
      if (body.success === true) expect(body.requestId).toMatch(/^req_/);
      expect(data.estimatedCostMicroCents).toBe(stringNumbers ? '2500000' : 2_500_000);
    }
  });

  it('every endpoint reads the same typed values', async () => {
    const submitted = await client.submitJob({ model: WAN, input: WAN_INPUT });
    const job = expectOk(submitted);
    expect(job.costMicroCents).toBe(WAN_COST);
    expect(job.requestId).toMatch(/^req_/);
    expect(submitted.ok && submitted.requestId).toBe(job.requestId);
    await sim.control.advance(job.jobId, 'processing');
    expect(expectOk(await client.getJob(job.jobId))).toMatchObject({ status: 'processing', progress: 50 });
    expect(expectOk(await client.listJobs()).jobs).toEqual([
      expect.objectContaining({ jobId: job.jobId, progress: 50, model: WAN }),
    ]);
    const other = expectOk(await client.submitJob({ model: WAN, input: WAN_INPUT }));
    expect(expectOk(await client.cancelJob(other.jobId)).refundedMicroCents).toBe(WAN_COST);
    expect(expectOk(await client.estimate({ model: WAN, input: WAN_INPUT })).estimatedCostMicroCents).toBe(
      WAN_COST,
    );
    expect(expectOk(await client.getModel(WAN)).id).toBe(WAN);
    expect(expectError(await client.getJob('job_nope'))).toMatchObject({
      outcome: 'rejected',
      code: 'JOB_NOT_FOUND',
    });
  });
});

describe('answers the docs do not describe (a scripted upstream)', () => {
  let upstream: Awaited<ReturnType<typeof startScriptedServer>>;
  let client: PixelbyteClient;
  const submit = () => client.submitJob({ model: WAN, input: WAN_INPUT });
  const okBody = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      jobId: 'job_abc123def456',
      requestId: 'req_abc123',
      status: 'pending',
      costMicroCents: 2500000,
      ...over,
    });

  beforeAll(async () => {
    upstream = await startScriptedServer();
    client = createPixelbyteClient({ baseUrl: `${upstream.url}/api/`, apiKey: 'pb_live_x' });
  });
  afterAll(async () => {
    await client.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.received.length = 0;
  });

  it('keeps a base path and sends the documented headers', async () => {
    upstream.answer({ status: 200, body: okBody() });
    expectOk(await submit());
    expect(upstream.received[0]).toMatchObject({
      method: 'POST',
      url: '/api/v1/jobs/submit',
      headers: {
        authorization: 'Bearer pb_live_x',
        'content-type': 'application/json',
        accept: 'application/json',
      },
    });
    upstream.answer({ status: 200, body: JSON.stringify({ id: 'x' }) });
    await client.getModel('google/nano-banana');
    expect(upstream.received[1]?.url).toBe('/api/v1/models/google/nano-banana');
  });

  it('reads amounts exactly: numeric strings and integers beyond 2^53', async () => {
    upstream.answer({ status: 200, body: okBody({ costMicroCents: '2500000' }) });
    expect(expectOk(await submit()).costMicroCents).toBe(2_500_000n);
    upstream.answer({ status: 200, body: okBody().replace('2500000', '1234567890123456789') });
    expect(expectOk(await submit()).costMicroCents).toBe(1_234_567_890_123_456_789n);
  });

  it('times that are not ISO 8601 (or out of a database range) are read as null, never an error', async () => {
    for (const eta of ['in 2 minutes', '1718000000', '0000-01-01T00:00:00Z', '+010000-01-01T00:00:00Z']) {
      upstream.answer({ status: 200, body: okBody({ estimatedCompletionTime: eta }) });
      expect(expectOk(await submit()), eta).toMatchObject({
        jobId: 'job_abc123def456',
        estimatedCompletionTime: null,
      });
    }
    upstream.answer({ status: 200, body: okBody({ estimatedCompletionTime: '2030-01-01T00:00:00Z' }) });
    expect(expectOk(await submit()).estimatedCompletionTime).toBe('2030-01-01T00:00:00Z');
  });

  it('the `{ data, requestId }` envelope is unwrapped without `success` too', async () => {
    upstream.answer({
      status: 200,
      body: JSON.stringify({ data: JSON.parse(okBody()), requestId: 'req_env' }),
    });
    expect(expectOk(await submit())).toMatchObject({ jobId: 'job_abc123def456', costMicroCents: 2_500_000n });
    // A flat answer that happens to carry a `data` object is the answer itself.
    upstream.answer({ status: 200, body: okBody({ data: { note: 'extra' } }) });
    expect(expectOk(await submit())).toMatchObject({ jobId: 'job_abc123def456', costMicroCents: 2_500_000n });
  });

  it.each([
    ['a fractional amount', okBody({ costMicroCents: 2500000.5 })],
    ['an exponent string', okBody({ costMicroCents: '2.5e6' })],
    ['a negative amount', okBody({ costMicroCents: -1 })],
    ['an exponent literal beyond 2^53 (possibly rounded)', okBody().replace('2500000', '1e20')],
    [
      'an amount beyond what the ledger can store (a Postgres bigint)',
      okBody().replace('2500000', '12345678901234567891'),
    ],
    ['an unknown status', okBody({ status: 'exploded' })],
    ['a missing amount', okBody({ costMicroCents: undefined })],
  ])('a 2xx submit answer with %s is unknown INVALID_RESPONSE, carrying the job id', async (_, body) => {
    upstream.answer({ status: 200, body });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
      status: 200,
      jobId: 'job_abc123def456',
      requestId: 'req_abc123',
    });
  });

  it('a 2xx that is not JSON is unknown INVALID_RESPONSE', async () => {
    upstream.answer({ status: 200, body: '<html>ok</html>' });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
      status: 200,
    });
  });

  it('a 5xx without a Pixelbyte error body (a proxy page) is unknown; a bare 4xx is rejected', async () => {
    upstream.answer({
      status: 502,
      body: '<html>Bad gateway</html>',
      headers: { 'content-type': 'text/html' },
    });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
      status: 502,
    });
    upstream.answer({ status: 413, body: '' });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_RESPONSE',
      status: 413,
    });
  });

  it("a 5xx with an error-shaped body but without Pixelbyte's `success: false` (a proxy's JSON) is unknown", async () => {
    upstream.answer({
      status: 504,
      body: JSON.stringify({ error: { code: 'GATEWAY_TIMEOUT', message: 'upstream timed out' } }),
    });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
      status: 504,
    });
    // Pixelbyte's own envelope on a 5xx is its refusal, as product.md says.
    upstream.answer({
      status: 503,
      body: JSON.stringify({
        success: false,
        error: { code: 'PUBSUB_PUBLISH_FAILED', message: 'x' },
        requestId: 'req_5',
      }),
    });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'rejected',
      code: 'PUBSUB_PUBLISH_FAILED',
      status: 503,
    });
  });

  it('an error body gives the code, message, requestId and Retry-After', async () => {
    upstream.answer({
      status: 429,
      body: JSON.stringify({
        success: false,
        error: { code: 'CONCURRENT_JOBS_EXCEEDED', message: 'slow down' },
        requestId: 'req_1',
      }),
      headers: { 'retry-after': '7' },
    });
    expect(expectError(await submit())).toEqual({
      outcome: 'rejected',
      code: 'CONCURRENT_JOBS_EXCEEDED',
      status: 429,
      message: 'slow down',
      requestId: 'req_1',
      retryAfterSeconds: 7,
    });
    upstream.answer({
      status: 200,
      body: JSON.stringify({ success: false, error: { code: 'INVALID_INPUT', message: 'no' } }),
      headers: { 'x-request-id': 'req_hdr' },
    });
    expect(expectError(await submit())).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_INPUT',
      status: 200,
      requestId: 'req_hdr',
    });
  });

  it('unwraps the envelope, taking the requestId from it, and tolerates status spellings', async () => {
    upstream.answer({
      status: 200,
      body: JSON.stringify({
        success: true,
        data: { jobId: 'job_1', status: 'queued', costMicroCents: '40000' },
        requestId: 'req_env',
      }),
    });
    const result = await submit();
    expect(expectOk(result)).toEqual({
      jobId: 'job_1',
      requestId: 'req_env',
      status: 'pending',
      estimatedCompletionTime: null,
      costMicroCents: 40_000n,
    });
    expect(result.ok && result.requestId).toBe('req_env');

    upstream.answer({
      status: 200,
      body: JSON.stringify({
        jobId: 'job_1',
        status: 'SUCCEEDED',
        progress: '100',
        outputs: [{ url: 'https://x/1.mp4' }],
      }),
    });
    expect(expectOk(await client.getJob('job_1'))).toEqual({
      jobId: 'job_1',
      status: 'completed',
      progress: 100,
      output: 'https://x/1.mp4',
      outputs: [{ url: 'https://x/1.mp4', type: null, thumbnail: null, posterImage: null }],
      error: null,
      createdAt: null,
      completedAt: null,
    });
  });

  it('an answer about another job is unknown INVALID_RESPONSE', async () => {
    upstream.answer({ status: 200, body: JSON.stringify({ jobId: 'job_other', status: 'completed' }) });
    expect(expectError(await client.getJob('job_mine'))).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
    });
    upstream.answer({
      status: 200,
      body: JSON.stringify({ jobId: 'job_other', status: 'cancelled', refundedMicroCents: 1 }),
    });
    expect(expectError(await client.cancelJob('job_mine'))).toMatchObject({
      outcome: 'unknown',
      code: 'INVALID_RESPONSE',
    });
  });

  it('a connection reset after the request was sent is unknown CONNECTION_LOST', async () => {
    const resetting = http.createServer((req) =>
      req.on('data', () => {}).on('end', () => req.socket.destroy()),
    );
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const { port } = resetting.address() as AddressInfo;
    const c = createPixelbyteClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'pb_x' });
    try {
      expect(expectError(await c.submitJob({ model: WAN, input: WAN_INPUT }))).toMatchObject({
        outcome: 'unknown',
        code: 'CONNECTION_LOST',
      });
    } finally {
      await c.close();
      await new Promise<void>((resolve) => resetting.close(() => resolve()));
    }
  });
});

describe('createPixelbyteClient', () => {
  it('refuses bad options', () => {
    expect(() => createPixelbyteClient({ baseUrl: 'ftp://x', apiKey: 'k' })).toThrow(/http/);
    expect(() => createPixelbyteClient({ baseUrl: 'not a url', apiKey: 'k' })).toThrow();
    expect(() => createPixelbyteClient({ baseUrl: 'http://x', apiKey: '' })).toThrow(/apiKey/);
    expect(() => createPixelbyteClient({ baseUrl: 'http://x', apiKey: 'k', timeoutMs: 0 })).toThrow(
      /timeoutMs/,
    );
  });
});
