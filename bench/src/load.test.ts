import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey, type RequestSpec, runClosedLoop, runOpenLoop, type Target, UNANSWERED } from './load';

// A real HTTP server: `/ok` answers 200, `/fail` answers a tRPC-style 429, `/stall` holds every
// answer until `stallUntil` (a server that stops for a while).
let server: http.Server;
let target: Target;
let stallUntil = 0;
let received = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received += 1;
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/fail') {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'x', code: -32029, data: { reason: 'RATE_LIMIT' } } }));
        return;
      }
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body }));
      };
      if (req.url === '/stall') setTimeout(answer, Math.max(0, stallUntil - performance.now()));
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const post = (path: string): RequestSpec => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json' },
  body: '{"a":1}',
});

describe('runClosedLoop', () => {
  it('counts successes and keys failures by status and reason', async () => {
    const r = await runClosedLoop({
      target,
      durationMs: 300,
      concurrency: 4,
      make: (i) => post(i % 2 === 0 ? '/ok' : '/fail'),
    });
    expect(r.ok).toBeGreaterThan(10);
    expect(r.failed).toBeGreaterThan(10);
    expect(Object.keys(r.errors)).toEqual(['429 RATE_LIMIT']);
    expect(r.ok + r.failed).toBe(r.sent);
    expect(r.latency.count).toBe(r.ok);
    expect(r.okPerSecond).toBeGreaterThan(0);
  });

  it('applies a custom body check', async () => {
    const r = await runClosedLoop({
      target,
      durationMs: 200,
      concurrency: 2,
      make: () => post('/ok'),
      verify: (status, body) => (status === 200 && body.includes('"b"') ? true : 'wrong body'),
    });
    expect(r.ok).toBe(0);
    expect(r.errors['wrong body']).toBe(r.failed);
  });

  it('reports connection failures by error code', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await runClosedLoop({
      target: { host: '127.0.0.1', port },
      durationMs: 100,
      concurrency: 1,
      make: () => post('/ok'),
    });
    expect(r.ok).toBe(0);
    expect(r.errors.ECONNREFUSED).toBeGreaterThan(0);
  });

  it('runs a lead-in before the measured window and leaves it out of every figure', async () => {
    received = 0;
    const start = performance.now();
    // Failures only in the first half of the lead-in: answered long before the window opens.
    const r = await runClosedLoop({
      target,
      leadInMs: 400,
      durationMs: 300,
      concurrency: 2,
      make: () => post(performance.now() - start < 200 ? '/fail' : '/ok'),
    });
    expect(r.leadIn?.ms).toBe(400);
    expect(r.leadIn?.failed).toBeGreaterThan(0);
    expect(r.failed).toBe(0);
    expect(r.errors).toEqual({});
    expect(r.ok).toBeGreaterThan(0);
    expect(r.latency.count).toBe(r.ok);
    expect(r.durationMs).toBeLessThanOrEqual(300);
    expect(r.okPerSecond).toBe(Math.round((r.ok * 1000) / r.durationMs));
    // Every request the server saw was counted in one of the two, but for those in flight at the deadline.
    const counted = (r.leadIn?.ok ?? 0) + (r.leadIn?.failed ?? 0) + r.ok;
    expect(received - counted).toBeGreaterThanOrEqual(0);
    expect(received - counted).toBeLessThanOrEqual(2);
  });
});

describe('runOpenLoop', () => {
  it('sends exactly rate × duration requests', async () => {
    received = 0;
    const r = await runOpenLoop({ target, durationMs: 500, rps: 200, make: () => post('/ok') });
    expect(r.sent).toBe(100);
    expect(r.ok).toBe(100);
    expect(received).toBe(100);
    expect(r.backlog).toBe(0);
    expect(r.okPerSecond).toBe(200);
  });

  it('leaves the requests due during the lead-in out of every figure', async () => {
    received = 0;
    // 200/s over 250 + 250 ms: the first 50 are due in the lead-in.
    const r = await runOpenLoop({
      target,
      leadInMs: 250,
      durationMs: 250,
      rps: 200,
      make: (i) => post(i < 50 ? '/fail' : '/ok'),
    });
    expect(received).toBe(100);
    expect(r.leadIn).toEqual({ ms: 250, ok: 0, failed: 50 });
    expect(r.sent).toBe(50);
    expect(r.ok).toBe(50);
    expect(r.failed).toBe(0);
    expect(r.okPerSecond).toBe(200);
  });

  it('measures from the due time, so a stalled server shows its stall (no coordinated omission)', async () => {
    stallUntil = performance.now() + 300;
    const r = await runOpenLoop({ target, durationMs: 400, rps: 100, make: () => post('/stall') });
    expect(r.ok).toBe(40);
    // The first request was due at t≈0 and answered at t≥300 ms.
    expect(r.latency.maxMs).toBeGreaterThanOrEqual(290);
    // About three quarters of the requests were due during the stall: the median waited too.
    expect(r.latency.p50Ms).toBeGreaterThan(10);
  });
});

describe('failureKey', () => {
  it('reads tRPC and gateway error bodies', () => {
    expect(failureKey(402, JSON.stringify({ error: { data: { reason: 'INSUFFICIENT_BALANCE' } } }))).toBe(
      '402 INSUFFICIENT_BALANCE',
    );
    expect(failureKey(404, JSON.stringify({ reason: 'ROUTE_NOT_FOUND' }))).toBe('404 ROUTE_NOT_FOUND');
    expect(failureKey(502, '<html>bad gateway</html>')).toBe('502');
  });
});

describe('runOpenLoop against a server that never answers', () => {
  it('aborts what is unanswered when the window closes, and says so', async () => {
    const silent = http.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    try {
      const r = await runOpenLoop({
        target: { host: '127.0.0.1', port },
        durationMs: 200,
        graceMs: 100,
        rps: 50,
        make: () => post('/ok'),
      });
      expect(r.sent).toBe(10);
      expect(r.ok).toBe(0);
      expect(r.errors[UNANSWERED]).toBe(10);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
