// The only place the CLI reads the environment: TOLLGATE_URL and TOLLGATE_TOKEN (flags win over both).

export type CliEnv = { url: string | undefined; token: string | undefined };

export function readCliEnv(raw: Record<string, string | undefined> = process.env): CliEnv {
  const url = raw.TOLLGATE_URL?.trim();
  const token = raw.TOLLGATE_TOKEN?.trim();
  return { url: url ? url : undefined, token: token ? token : undefined };
}
