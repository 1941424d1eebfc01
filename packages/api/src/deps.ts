import type { Db } from '@tollgate/db/client';
import type { PixelbyteClient } from '@tollgate/pixelbyte';
import type { Authenticator } from './auth/authenticator.ts';
import type { DbBreaker } from './db-breaker.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Sandbox } from './sandbox.ts';

/** What the gateway needs at runtime, resolved once at boot (serve.ts) or by the test harness. */
export type GatewayConfig = {
  /** Base of the webhook URL handed to Pixelbyte; undefined = no webhooks (polling only). */
  publicBaseUrl: string | undefined;
  /** HMAC key for the per-job webhook URL token. */
  webhookTokenSecret: string;
  /** When set, `X-PixelByte-Signature` must verify; when unset the per-job token alone authenticates. */
  pixelbyteWebhookSecret: string | undefined;
  jwt: {
    issuer: string;
    audience: string /** HS256 secret for issuing tokens; undefined = cannot issue. */;
    signingSecret: string | undefined;
  };
  /** How long an `unknown` job keeps its hold before it is released and flagged for review. */
  unknownJobGraceMs: number;
  bodyLimitBytes: number;
  /** Bearer token `GET /metrics` requires; undefined = open (dev mode or METRICS_PUBLIC=true). */
  metricsToken?: string | undefined;
  /**
   * Accept `http:` tenant webhook URLs (dev and tests only; env.ts refuses it in production).
   * Unset = https only.
   */
  allowHttpWebhooks?: boolean;
  /**
   * Accept tenant webhook URLs that reach loopback / private / link-local / … addresses (dev and
   * tests: local receivers; env.ts refuses it in production). Unset = public addresses only (SSRF).
   */
  allowPrivateWebhooks?: boolean;
  /** Tenant webhook secret rotation: how long the old secret still signs beside the new one. Unset = 24 h. */
  webhookSecretGraceMs?: number;
  /** Window of limit.reached webhooks: at most one per tenant and limit in each. Unset = 15 min. */
  limitReachedWebhookIntervalMs?: number;
};

export type AppDeps = {
  config: GatewayConfig;
  db: Db;
  /**
   * Where the finance reports read (finance.usage, finance.ledger, usage.csv, ledger.csv): a read
   * replica when REPORTS_DATABASE_URL is set, else the same pool as `db`. Never written to.
   */
  reportsDb: Db;
  pixelbyte: PixelbyteClient;
  /** Test mode's upstream: the built-in simulator, started on demand (sandbox.ts). */
  sandbox: Sandbox;
  /** Bearer token → principal: API keys, operator keys and JWTs (auth/authenticator.ts). */
  auth: Authenticator;
  log: Logger;
  metrics: Metrics;
  /** Fails requests fast while the database is down (db-breaker.ts). */
  dbBreaker: DbBreaker;
  /** Is the database reachable and are migrations current? (for /readyz) */
  ready: () => Promise<{ ok: boolean; details: Record<string, unknown> }>;
};
