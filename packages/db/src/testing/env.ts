// The only place the test harness reads the environment.
/** An existing server to run the DB tests against (CI: the machine's Postgres); unset = embedded. */
export const testDatabaseUrl: string | undefined = process.env.DATABASE_URL || undefined;
/** Set to 1 to see the embedded server's own log lines. */
export const embeddedPostgresVerbose: boolean = process.env.TOLLGATE_PG_LOG === '1';
