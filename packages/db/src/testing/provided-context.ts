// Values the globalSetup hands to test files (vitest provide/inject).
declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a maintenance database on the test server (CREATE DATABASE rights). */
    tollgateDbAdminUrl: string;
    /** Prefix shared by this run's test databases, so teardown can drop leftovers. */
    tollgateDbRunId: string;
  }
}

export {};
