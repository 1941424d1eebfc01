import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, registerConsoleRoutes } from './console.ts';

type Env = { Variables: { requestId: string } };

function appFor(dir: string) {
  const app = new Hono<Env>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'req_test');
    await next();
  });
  registerConsoleRoutes(app, { dir });
  return app;
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-console-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
  await writeFile(join(dir, 'assets/index-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'favicon.svg'), '<svg/>');
  await writeFile(join(tmpdir(), 'tollgate-console-outside.txt'), 'secret');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'tollgate-console-outside.txt'), { force: true });
});

describe('/console', () => {
  it('serves index.html for the console and its client-side routes, with a strict CSP and no caching', async () => {
    const app = appFor(dir);
    for (const path of ['/console', '/console/', '/console/tenants/ten_123', '/console/usage']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('<div id="root">');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });

  it('serves hashed assets as immutable with their content type; a missing asset is a 404, not index.html', async () => {
    const app = appFor(dir);
    const js = await app.request('/console/assets/index-abc.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1)');
    const svg = await app.request('/console/favicon.svg');
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    const missing = await app.request('/console/assets/gone-123.js');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ reason: 'ROUTE_NOT_FOUND', requestId: 'req_test' });
  });

  it('never serves a file outside the build folder', async () => {
    const app = appFor(dir);
    for (const path of [
      '/console/../tollgate-console-outside.txt',
      '/console/%2e%2e/tollgate-console-outside.txt',
      '/console/assets/%2e%2e/%2e%2e/tollgate-console-outside.txt',
    ]) {
      const res = await app.request(path);
      expect(await res.text(), path).not.toContain('secret');
    }
  });

  it('answers 503 CONSOLE_NOT_BUILT when the build is missing', async () => {
    const res = await appFor(join(dir, 'nope')).request('/console/tenants');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ reason: 'CONSOLE_NOT_BUILT', requestId: 'req_test' });
  });
});
