// Baseline (a): a bare Hono pass-through proxy to the simulator, run as its own process like the
// gateway. Same server stack (Hono on @hono/node-server) and the same upstream transport (node:http
// keep-alive agent) as the gateway, but no auth, pricing or accounting: what's left of the gateway's
// cost is the accounting. Env: PROXY_PORT, UPSTREAM_URL.
import http from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const port = Number(process.env.PROXY_PORT ?? '0');
const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:4010');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function forward(method: string, path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; body: Buffer; contentType: string }>((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method,
        path,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 502,
            body: Buffer.concat(chunks),
            contentType: String(res.headers['content-type'] ?? 'application/json'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const app = new Hono();
app.get('/healthz', (c) => c.text('ok'));
app.all('/v1/*', async (c) => {
  const body = c.req.method === 'GET' ? '' : await c.req.text();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = c.req.header('authorization');
  if (auth) headers.authorization = auth;
  const url = new URL(c.req.url);
  try {
    const res = await forward(c.req.method, url.pathname + url.search, headers, body);
    return new Response(res.body, { status: res.status, headers: { 'content-type': res.contentType } });
  } catch {
    return c.json({ error: 'upstream unreachable' }, 502);
  }
});

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`PROXY_URL=http://127.0.0.1:${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
