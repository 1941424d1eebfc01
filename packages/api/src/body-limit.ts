import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * hono/body-limit without its cost on the common request. It looks at `c.req.raw.body` first, which
 * makes @hono/node-server build a full WHATWG Request with a web stream over the socket, and the
 * body is then read through that stream (together ~10% of the gateway's CPU per jobs.submit, in
 * bench/src/cpu-split.ts profiles). Here a request that declares its length (Content-Length, no
 * Transfer-Encoding) is judged by that header, as hono/body-limit judges it (Node's HTTP parser never
 * hands on more bytes than declared), and its body is read later by node-server's direct path. Only a
 * chunked body goes through hono/body-limit, which counts the bytes as they arrive.
 */
export function bodyLimitByHeader(options: {
  maxSize: number;
  onError: (c: Context) => Response | Promise<Response>;
}): MiddlewareHandler {
  const counted = bodyLimit(options);
  return (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const headers = c.req.raw.headers;
    const length = headers.get('content-length');
    if (length !== null && !headers.has('transfer-encoding')) {
      return Number.parseInt(length, 10) > options.maxSize ? Promise.resolve(options.onError(c)) : next();
    }
    return counted(c, next);
  };
}
