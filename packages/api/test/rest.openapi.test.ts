// `GET /openapi.json` and `GET /docs` against a real gateway: the document validates as OpenAPI 3.1
// (an independent validator), covers every /v1 route, its examples and the API's real answers match its
// schemas, TypeScript types generated from it compile, and the interactive reference loads only local assets.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import openapiTS from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { CHEAP_INPUT, CHEAP_MODEL, type Harness, startHarness } from './harness.ts';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};
type Media = { schema?: { $ref?: string }; example?: unknown };
type Operation = {
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};

const DOC_ID = 'https://tollgate.test/openapi.json';

describe('GET /openapi.json, GET /docs', () => {
  let h: Harness;
  let token: string;
  let doc: Doc;
  let ajv: Ajv2020;

  /** Validates `value` against the schema the document names by `$ref` (`#/components/schemas/X`). */
  function conforms(ref: string, value: unknown): void {
    const validate = ajv.getSchema(`${DOC_ID}${ref}`);
    if (!validate) throw new Error(`no schema ${ref}`);
    const ok = validate(value);
    expect(ok, `${ref}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value)}`).toBe(true);
  }

  beforeAll(async () => {
    h = await startHarness();
    ({ token } = await h.createTenant({ balanceMicroCents: 1_000_000 }));
    const res = await fetch(`${h.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    doc = (await res.json()) as Doc;
    // OpenAPI 3.1's own keywords (example, discriminator…) are not JSON Schema: not strict.
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: DOC_ID });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('request bodies are closed (unknown fields are refused), results are open (new fields are not a breaking change)', () => {
    const schemas = doc.components.schemas as Record<
      string,
      { additionalProperties?: unknown; required?: string[] }
    >;
    expect(schemas.SubmitJobRequest?.additionalProperties).toBe(false);
    expect(schemas.QuoteRequest?.additionalProperties).toBe(false);
    expect(schemas.SubmitJobRequest?.required).toEqual(['model', 'input']);
    for (const name of ['Job', 'Account', 'Quote', 'Model', 'LedgerLine', 'Problem']) {
      expect(schemas[name]?.additionalProperties, name).toBeUndefined();
      expect(schemas[name]?.required?.length, name).toBeGreaterThan(3);
    }
  });

  it('documents every /v1 route the app serves, and only those', () => {
    const served = createApp(h.gateway.deps)
      .routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(new Set(documented)).toEqual(new Set(served));
    expect(served).toHaveLength(8);
  });

  it('every example matches its schema; every error answer is the problem+json shape', () => {
    let examples = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const media = [
          ...Object.values(op.requestBody?.content ?? {}),
          ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {})),
        ];
        for (const m of media) {
          if (m.example === undefined || !m.schema?.$ref) continue;
          conforms(m.schema.$ref, m.example);
          examples++;
        }
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          expect(Object.keys(r.content ?? {}), `${method} ${path} ${status}`).toEqual([
            'application/problem+json',
          ]);
          expect(r.content?.['application/problem+json']?.schema?.$ref).toBe('#/components/schemas/Problem');
        }
      }
    }
    expect(examples).toBeGreaterThan(15);
  });

  it("the API's real answers match the document's schemas", async () => {
    const get = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${h.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const submitted = await get('/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT, tags: ['doc'] }),
    });
    expect(submitted.status).toBe(201);
    conforms('#/components/schemas/Job', submitted.body);
    conforms('#/components/schemas/Job', (await get(`/v1/jobs/${String(submitted.body.id)}`)).body);
    conforms('#/components/schemas/JobPage', (await get('/v1/jobs')).body);
    conforms(
      '#/components/schemas/Quote',
      (
        await get('/v1/quote', {
          method: 'POST',
          body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
        })
      ).body,
    );
    conforms('#/components/schemas/ModelPage', (await get('/v1/models')).body);
    conforms('#/components/schemas/Account', (await get('/v1/account')).body);
    conforms('#/components/schemas/LedgerPage', (await get('/v1/account/ledger')).body);
    const missing = await get('/v1/jobs/job_doesnotexist0000000');
    expect(missing.status).toBe(404);
    conforms('#/components/schemas/Problem', missing.body);
    const invalid = await get('/v1/jobs', { method: 'POST', body: '{"model":""}' });
    conforms('#/components/schemas/Problem', invalid.body);
  });

  it('TypeScript types generated from the document (openapi-typescript) compile and type the API', async () => {
    const types = await openapiTS(structuredClone(doc) as never);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-openapi-types-'));
    try {
      writeFileSync(join(dir, 'tollgate.d.ts'), types);
      writeFileSync(
        join(dir, 'use.ts'),
        `import type { components, paths } from './tollgate';
type Job = components['schemas']['Job'];
type Created = paths['/v1/jobs']['post']['responses'][201]['content']['application/json'];
type Problem = paths['/v1/jobs']['post']['responses'][402]['content']['application/problem+json'];
type SubmitBody = NonNullable<paths['/v1/jobs']['post']['requestBody']>['content']['application/json'];
type ListQuery = NonNullable<paths['/v1/jobs']['get']['parameters']['query']>;

export const body: SubmitBody = { model: 'google/nano-banana-dev/text-to-image', input: { prompt: 'fox' }, tags: ['a'] };
export const query: ListQuery = { status: 'pending', limit: 10 };
export function cost(job: Created): number {
  const j: Job = job;
  return j.costMicroCents - j.refundedMicroCents;
}
export function needed(p: Problem): string {
  return \`\${p.reason} \${p.status} \${p.detail}\`;
}
// The generated types are precise, not 'any': each of these must fail to compile.
// @ts-expect-error status is an enum
export const wrongStatus: Job['status'] = 'exploded';
// @ts-expect-error model is required
export const noModel: SubmitBody = { input: {} };
// @ts-expect-error the body has no idempotencyKey (it is the Idempotency-Key header)
export const keyInBody: SubmitBody = { model: 'm', input: {}, idempotencyKey: 'k' };
`,
      );
      const tsc = createRequire(import.meta.url)
        .resolve('typescript/package.json')
        .replace(/package\.json$/, 'bin/tsc');
      const run = promisify(execFile);
      const args = [
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--skipLibCheck',
        'false',
      ];
      const result = await run(process.execPath, [tsc, ...args, join(dir, 'use.ts')], { cwd: dir }).catch(
        (e: { stdout?: string; stderr?: string }) => e,
      );
      expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('/docs is an interactive reference of /openapi.json from local assets only (no CDN)', async () => {
    const res = await fetch(`${h.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html, 'nothing loaded from another host').not.toMatch(/(?:src|href)\s*=\s*["'](?:https?:)?\/\//i);
    const refs = [...html.matchAll(/(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1] ?? '');
    expect(refs).toEqual(
      expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']),
    );
    for (const ref of refs) {
      const asset = await fetch(`${h.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
    const bundle = await fetch(`${h.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    const init = await (await fetch(`${h.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    // Only the listed files: nothing else of the package (or the disk) is reachable.
    for (const path of [
      '/docs/package.json',
      '/docs/..%2F..%2Fpackage.json',
      '/docs/constructor',
      '/docs/index.html',
    ]) {
      expect((await fetch(`${h.url}${path}`)).status, path).toBe(404);
    }
  });
});
