// Test mode's upstream: test jobs go to a built-in Pixelbyte simulator (with the magic inputs on),
// never to the real Pixelbyte, whatever PIXELBYTE_API_KEY says. Started on demand, on the first
// test-mode job of this process, on loopback; its webhooks come back to this gateway's own address.
import { modeOfTenant } from '@tollgate/db';
import { createPixelbyteClient, type PixelbyteClient } from '@tollgate/pixelbyte';
import type { Logger } from './logger.ts';

export type Sandbox = {
  /** The sandbox simulator's client (started on first use). */
  client(): Promise<PixelbyteClient>;
  /** Base of the webhook URL test jobs give the simulator (this gateway on loopback); undefined = polling only. */
  webhookBaseUrl: string | undefined;
  close(): Promise<void>;
};

export type SandboxOptions = {
  log: Logger;
  /** The secret the simulator signs its webhooks with: the gateway's PIXELBYTE_WEBHOOK_SECRET when set. */
  webhookSecret?: string | undefined;
  /** How long a test job stays pending, then processing (default 1 s / 2 s). */
  pendingMs?: number;
  processingMs?: number;
};

export function createSandbox(opts: SandboxOptions): Sandbox {
  let starting: Promise<{ client: PixelbyteClient; close(): Promise<void> }> | undefined;
  const sandbox: Sandbox = {
    webhookBaseUrl: undefined,
    async client() {
      starting ??= (async () => {
        const { startSimulator } = await import('@tollgate/pixelbyte/simulator');
        const sim = await startSimulator({
          magicInputs: true,
          pendingMs: opts.pendingMs ?? 1_000,
          processingMs: opts.processingMs ?? 2_000,
          webhooks: { allowHttp: true, ...(opts.webhookSecret ? { secret: opts.webhookSecret } : {}) },
          log: (line) => opts.log.debug({ sandbox: line }),
        });
        const client = createPixelbyteClient({ baseUrl: sim.url, apiKey: sim.apiKey });
        opts.log.info(
          { sandboxUrl: sim.url },
          'test mode: sandbox simulator started (test jobs never reach Pixelbyte)',
        );
        return {
          client,
          async close() {
            await client.close();
            await sim.close();
          },
        };
      })();
      return (await starting).client;
    },
    async close() {
      if (!starting) return;
      const s = await starting.catch(() => undefined);
      await s?.close();
    },
  };
  return sandbox;
}

/** The upstream a tenant's jobs go to: the sandbox for a test-mode book, Pixelbyte otherwise. */
export async function upstreamFor(
  deps: { pixelbyte: PixelbyteClient; sandbox: Sandbox },
  tenantId: string,
): Promise<PixelbyteClient> {
  return modeOfTenant(tenantId) === 'test' ? deps.sandbox.client() : deps.pixelbyte;
}

/** The webhook URL base for a job of `tenantId` (the sandbox calls this gateway back on loopback). */
export function webhookBaseFor(
  deps: { config: { publicBaseUrl: string | undefined }; sandbox: Sandbox },
  tenantId: string,
): string | undefined {
  return modeOfTenant(tenantId) === 'test' ? deps.sandbox.webhookBaseUrl : deps.config.publicBaseUrl;
}
