// The operator console (packages/console, a static React build) served at /console from the
// gateway's own origin: no CORS, the same /trpc and /reports, nothing loaded from elsewhere.
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { reasonBody } from './errors.ts';

/** `packages/console/dist`: the same relative path from `src/` and from the bundle in `dist/`. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));

/**
 * Everything the console needs comes from this origin: its scripts, styles and images, and its calls
 * to /trpc and /reports (connect-src). No inline script or style (the build inlines none), no
 * framing (clickjacking an admin's "Confirm top-up"), no <base> or form posts elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

/**
 * GET /console and /console/*: files of the build (hashed `assets/*` cached for a year), and
 * index.html for every other path (the console routes in the browser: /console/tenants/ten_…).
 * Answers 503 CONSOLE_NOT_BUILT when the build is missing (`pnpm build` or `pnpm start` make it).
 */
export function registerConsoleRoutes<E extends { Variables: { requestId: string } }>(
  app: Hono<E>,
  opts: { dir?: string } = {},
): void {
  const dir = resolve(opts.dir ?? CONSOLE_DIST);

  const send = (c: Context<E>, body: Buffer, type: string, cacheControl: string) =>
    c.body(new Uint8Array(body), 200, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'cache-control': cacheControl,
    });

  const handler = async (c: Context<E>) => {
    const sub = c.req.path.slice('/console'.length).replace(/^\/+/, '');
    // A file of the build? Only inside `dir` (a `..` or an encoded one never leaves it).
    if (sub !== '' && extname(sub) !== '') {
      const path = resolve(dir, sub);
      const file = path.startsWith(dir + sep) ? await readOrNull(path) : null;
      if (file !== null) {
        const immutable = sub.startsWith('assets/');
        return send(
          c,
          file,
          CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
          immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      }
      if (sub.startsWith('assets/')) return notFound(c, sub);
    }
    const index = await readOrNull(resolve(dir, 'index.html'));
    if (index === null) {
      const { body, status } = reasonBody('CONSOLE_NOT_BUILT', c.get('requestId'));
      return c.json(body, status as ContentfulStatusCode);
    }
    // index.html is never cached: a new build's asset names reach the browser at the next load.
    return send(c, index, CONTENT_TYPES['.html'] ?? 'text/html', 'no-cache');
  };

  const notFound = (c: Context<E>, sub: string) => {
    const { body, status } = reasonBody('ROUTE_NOT_FOUND', c.get('requestId'), `no console file ${sub}`);
    return c.json(body, status as ContentfulStatusCode, SECURITY_HEADERS);
  };

  app.get('/console', handler);
  app.get('/console/*', handler);
}
