// `GET /docs`: an interactive reference of /openapi.json (Swagger UI), served entirely by the gateway
// from the `swagger-ui-dist` package in node_modules: no CDN, so it works with no internet access.
// The files are found from this source file's location at run time, which also holds for the
// production bundle (scripts/build.ts rewrites `import.meta.url` to the source file's URL and the
// bundle runs from inside the checkout).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';
import type { AppEnv } from '../app.ts';

/** The only files served under /docs/ (a fixed list: no path from the request reaches the disk). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Swagger UI would otherwise send the document to its public validator (validator.swagger.io).
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>tollgate REST API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** Files are read on first request and kept (they never change while the process runs). */
const cache = new Map<string, Buffer>();

function asset(name: string): Buffer {
  let body = cache.get(name);
  if (body === undefined) {
    body = readFileSync(join(swaggerUiDir(), name));
    cache.set(name, body);
  }
  return body;
}

export function registerDocsRoutes(app: Hono<AppEnv>): void {
  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/init.js', (c) =>
    c.body(INIT_SCRIPT, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  app.get('/docs/:file', (c) => {
    const file = c.req.param('file');
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (type === undefined) return c.notFound();
    return c.body(new Uint8Array(asset(file)), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=3600',
    });
  });
}
