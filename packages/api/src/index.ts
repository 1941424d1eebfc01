// @tollgate/api: the gateway. `createApp(deps)` builds the Hono app without listening; `serve.ts` boots it.
export { type AppEnv, createApp } from './app.ts';
export {
  type AuthResult,
  bearerToken,
  createJwtVerifier,
  type JwtVerifier,
  type Principal,
  type Role,
  signToken,
} from './auth/jwt.ts';
export { type Context, createInnerContext } from './context.ts';
export type { AppDeps, GatewayConfig } from './deps.ts';
export { type AppConfig, EnvError, loadEnv, parseDurationMs } from './env.ts';
export { DomainError, type ErrorBody, type ErrorCode, toTRPCError } from './errors.ts';
export { buildDeps, type Gateway, startGateway, type WorkerOptions } from './gateway.ts';
export { createLogger, type Logger } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { REASONS, type Reason } from './reasons.ts';
export { type AppRouter, appRouter } from './router.ts';
export type { JobView } from './services/wire.ts';
export { createCallerFactory } from './trpc.ts';
