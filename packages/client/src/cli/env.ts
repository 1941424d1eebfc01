// The only place the CLI reads the environment: TOLLGATE_URL and TOLLGATE_TOKEN (flags win over both),
// and DATABASE_URL for the one command that can work without the gateway (`operators create`).

export type CliEnv = { url: string | undefined; token: string | undefined; databaseUrl?: string | undefined };

export function readCliEnv(raw: Record<string, string | undefined> = process.env): CliEnv {
  const url = raw.TOLLGATE_URL?.trim();
  const token = raw.TOLLGATE_TOKEN?.trim();
  const databaseUrl = raw.DATABASE_URL?.trim();
  return {
    url: url ? url : undefined,
    token: token ? token : undefined,
    databaseUrl: databaseUrl ? databaseUrl : undefined,
  };
}
