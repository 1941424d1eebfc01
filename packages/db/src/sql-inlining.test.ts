import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing';

// The `LANGUAGE sql` helpers on the money path are only cheap when Postgres inlines them into the
// statement that calls them; one it does not inline runs as a SQL function call, planned again on
// every call before Postgres 18 (packages/db/README.md, "A function that runs a statement…").
// Inlining fails silently: an IMMUTABLE function around a STABLE one (tollgate_fingerprint around
// format() until migration 0027) simply runs as a call. EXPLAIN VERBOSE shows which it was: an
// inlined call is gone from the plan's output expression.
const CALLS = {
  tollgate_fingerprint: `tollgate_fingerprint('capture', c.relname::text, c.relpages::bigint)`,
  tollgate_mode_of: `tollgate_mode_of(c.relname::text)`,
  tollgate_hold_refusal: `tollgate_hold_refusal(c.relkind::text, c.relnatts::int, c.relchecks::int,
    c.relpages::bigint, c.relnatts::int, c.relchecks::int, c.relpages::bigint, c.reltuples::bigint, 5)`,
  tollgate_spend_given_back: `tollgate_spend_given_back(now()::date, c.relpages::bigint, current_date, 5)`,
  tollgate_upstream_refunded_the_operator: `tollgate_upstream_refunded_the_operator(
    'failed'::job_status, jsonb_build_object('source', c.relname::text))`,
} as const;

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase({ max: 1 });
});

afterAll(async () => {
  await t?.close();
});

describe('LANGUAGE sql helpers are inlined where they are called', () => {
  for (const [name, call] of Object.entries(CALLS)) {
    it(name, async () => {
      const rows = await t.sql.unsafe<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN (VERBOSE, COSTS OFF) SELECT ${call} FROM pg_class c`,
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('Output:');
      expect(plan).not.toContain(`${name}(`);
    });
  }
});
