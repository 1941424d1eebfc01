// The only place the standalone simulator reads the environment (flags override these).
export const SIM_ENV_VARS = [
  'PIXELBYTE_SIM_PORT',
  'PIXELBYTE_SIM_HOST',
  'PIXELBYTE_SIM_API_KEY',
  'PIXELBYTE_SIM_BALANCE_MICRO_CENTS',
  'PIXELBYTE_SIM_PENDING_MS',
  'PIXELBYTE_SIM_PROCESSING_MS',
  'PIXELBYTE_SIM_WEBHOOK_SECRET',
] as const;

export type SimEnvVar = (typeof SIM_ENV_VARS)[number];

export function readSimEnv(): Partial<Record<SimEnvVar, string>> {
  const env: Partial<Record<SimEnvVar, string>> = {};
  for (const name of SIM_ENV_VARS) {
    const value = process.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}
