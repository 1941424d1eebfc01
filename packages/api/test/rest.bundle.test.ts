// The REST API, /openapi.json and /docs from the production bundle (`pnpm start` runs it): the
// reference's assets are read from node_modules at run time, so this checks they are found from
// the bundle too, not only under tsx.
import { createTenant } from '@tollgate/db/ledger';
import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { type Simulator, startSimulator } from '@tollgate/pixelbyte/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth/jwt.ts';
import { CHEAP_INPUT, CHEAP_MODEL, CHEAP_PRICE } from './harness.ts';
import { freePort, type GatewayProcess, startGatewayProcess } from './reliability/support.ts';

const JWT_SECRET = 'rest-bundle-secret-0123456789abcdef0123456789';

describe('REST and /docs from the production bundle', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gw: GatewayProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ max: 2 });
    sim = await startSimulator({ webhooks: { enabled: false } });
    gw = await startGatewayProcess({
      port: await freePort(),
      env: {
        DATABASE_URL: db.url,
        PIXELBYTE_BASE_URL: sim.url,
        PIXELBYTE_API_KEY: sim.apiKey,
        JWT_SECRET,
        DB_POOL_MAX: '2',
        LOG_LEVEL: 'info',
      },
    });
  });
  afterAll(async () => {
    await gw?.kill('SIGTERM');
    await sim?.close();
    await db?.close();
  });

  it('serves /docs with its local assets, /openapi.json, and /v1', async () => {
    const page = await fetch(`${gw.url}/docs`);
    expect(page.status).toBe(200);
    for (const asset of ['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']) {
      const res = await fetch(`${gw.url}${asset}`);
      expect(res.status, `${asset}\n${gw.output().slice(-2000)}`).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/jobs');

    const tenant = await createTenant(db.db, { name: 'bundle', actor: 'test' });
    const { token } = await signToken({
      secret: JWT_SECRET,
      issuer: 'tollgate',
      audience: 'tollgate',
      principal: { role: 'tenant', tenantId: tenant.id, sub: 'bundle-test' },
      expiresInSeconds: 600,
    });
    const quote = await fetch(`${gw.url}/v1/quote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    });
    expect(quote.status).toBe(200);
    expect(await quote.json()).toMatchObject({ costMicroCents: CHEAP_PRICE });
    const poor = await fetch(`${gw.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: CHEAP_MODEL, input: CHEAP_INPUT }),
    });
    expect(poor.status).toBe(402);
    expect(poor.headers.get('content-type')).toBe('application/problem+json');
  });
});
