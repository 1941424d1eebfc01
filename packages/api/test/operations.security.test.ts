// Operations hardening (issue 23): who may read /metrics, and how long a client may take to send a
// request. Real gateway over real HTTP (raw TCP where fetch cannot stall on purpose).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_INPUT, CHEAP_MODEL, type Harness, startHarness } from './harness.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('/metrics with METRICS_TOKEN', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ metricsToken: METRICS_TOKEN });
  });
  afterAll(async () => {
    await h.close();
  });

  it('without the Bearer token → 401 JSON, no balances shown; with it → the metrics', async () => {
    const { client } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    await client.jobs.submit.mutate({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789abcdef',
      `Basic ${METRICS_TOKEN}`,
      `Bearer ${METRICS_TOKEN}x`,
      'Bearer',
    ]) {
      const res = await fetch(`${h.url}/metrics`, authorization ? { headers: { authorization } } : {});
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      const text = await res.text();
      expect(text).not.toContain('tollgate_tenant_balance_micro_cents');
      expect(JSON.parse(text)).toMatchObject({ code: 'UNAUTHORIZED', reason: 'METRICS_TOKEN_REQUIRED' });
    }
    const ok = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(
      /^tollgate_tenant_balance_micro_cents\{kind="available",mode="live"\} 960000$/m,
    );
  });

  it('health and readiness stay open (probes send no token)', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });
});

/** Sends `head` (and `body`) on a raw socket, then nothing more; resolves with what the server answers before closing. */
function stalledRequest(url: string, head: string, body = ''): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname, () => socket.write(head + body));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('a request that never finishes arriving', () => {
  let h: Harness;
  beforeAll(async () => {
    // Short bounds so the test does not wait 30 s; the defaults are covered in env.test.ts.
    h = await startHarness({ http: { requestTimeoutMs: 600, headersTimeoutMs: 400 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a stalled body → 408 JSON and the connection closed (not held for Node’s 300 s), nothing written', async () => {
    const { token } = await h.createTenant({ balanceMicroCents: 1_000_000 });
    const body = JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT });
    const answer = await stalledRequest(
      h.url,
      `POST /trpc/jobs.submit HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${body.length + 100}\r\n\r\n`,
      body,
    );
    expect(answer.startsWith('HTTP/1.1 408 ')).toBe(true);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      code: 'TIMEOUT',
      reason: 'REQUEST_TIMEOUT',
    });
    const [row] = await h.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM jobs`;
    expect(row?.n).toBe(0);
  }, 20_000);

  it('stalled headers → 408 too', async () => {
    const answer = await stalledRequest(h.url, 'GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ');
    expect(answer.startsWith('HTTP/1.1 408 ')).toBe(true);
  }, 20_000);

  it('an idle keep-alive connection is not a stalled request: it still serves the next request', async () => {
    const answers = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(h.url);
      const socket = net.connect(Number(port), hostname, () =>
        socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'),
      );
      let out = '';
      socket.on('data', (c) => {
        out += c.toString();
        // After the first answer, idle past both bounds, then ask again on the same connection.
        if (out.split('HTTP/1.1 200').length === 2 && out.endsWith('}')) {
          setTimeout(
            () => socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
            1_500,
          );
        }
      });
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
    });
    expect(answers.split('HTTP/1.1 200').length - 1).toBe(2);
  }, 20_000);
});
