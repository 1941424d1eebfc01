// @tollgate/pixelbyte/simulator: a local Pixelbyte over real HTTP, for dev mode, tests and benchmarks.
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createSimulatorApp } from './app.ts';
import { createEngine } from './engine.ts';
import type { Simulator, SimulatorOptions } from './types.ts';

export { createSimulatorApp } from './app.ts';
export { SimControlError } from './engine.ts';
export { MAGIC_INPUTS, type MagicInput, magicInputsOf, SLOW_PROCESSING_MS } from './magic.ts';
export { SIM_MODEL_VERSION } from './pricing.ts';
export type {
  Envelope,
  RecordedRequest,
  SimControl,
  SimCounts,
  SimJob,
  SimOutcome,
  Simulator,
  SimulatorOptions,
  WebhookDelivery,
  WebhookMode,
} from './types.ts';

/**
 * Starts the simulator on `host:port` (127.0.0.1, random port by default) and resolves once it listens.
 * `close()` stops timers and webhook deliveries, destroys open connections (hanging submits included)
 * and resolves when the server is closed.
 */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const apiKey = opts.apiKey ?? 'pb_test_key';
  const host = opts.host ?? '127.0.0.1';
  const engine = createEngine(opts);
  const { app, releaseHangs } = createSimulatorApp(engine, {
    apiKey,
    envelope: opts.envelope ?? 'flat',
    stringNumbers: opts.stringNumbers ?? false,
  });
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  opts.log?.(`Pixelbyte simulator listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    apiKey,
    webhookSecret: engine.webhookSecret,
    control: engine.control,
    close() {
      closing ??= (async () => {
        releaseHangs();
        await engine.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
