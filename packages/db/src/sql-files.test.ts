import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFunctionFiles, describeDrift, readFunctionFiles } from './sql-files';
import { createTestDatabase, type TestDatabase } from './testing';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ max: 1 });
});
afterAll(async () => {
  await t.close();
});

describe('sql/functions: one file per database function, equal to what the migrations create', () => {
  it('every function of a freshly migrated database has its file, every file its function, and the definitions are equal', async () => {
    const files = readFunctionFiles();
    expect(files.length, 'the files are found').toBeGreaterThan(20);
    const drift = await compareFunctionFiles(t.sql, files);
    // The messages say which file to fix (or which migration to write: see packages/db/README.md).
    expect(describeDrift(drift)).toEqual([]);
  });

  it('reports a body that differs, a file without its function and a function without its file', async () => {
    const files = readFunctionFiles();
    const capture = files.find((f) => f.name === 'tollgate_capture_job');
    const reserve = files.find((f) => f.name === 'tollgate_reserve');
    if (!capture || !reserve) throw new Error('expected the capture and reserve files');
    const changed = { ...capture, text: capture.text.replace("'accepted upstream'", "'accepted upstream!'") };
    expect(changed.text, 'the edit applies').not.toBe(capture.text);
    const extra = {
      name: 'tollgate_not_migrated',
      path: 'sql/functions/tollgate_not_migrated.sql',
      text: 'CREATE OR REPLACE FUNCTION tollgate_not_migrated() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    };
    const drift = await compareFunctionFiles(t.sql, [
      ...files.filter((f) => f !== capture && f !== reserve),
      changed,
      extra,
    ]);
    expect(drift.differs.map((d) => d.file.name)).toEqual(['tollgate_capture_job']);
    expect(drift.notInDatabase.map((f) => f.name)).toEqual(['tollgate_not_migrated']);
    expect(drift.withoutFile.map((f) => f.name)).toEqual(['tollgate_reserve']);
    expect(drift.invalid).toEqual([]);
    // Nothing was created: the comparison runs in a transaction it rolls back.
    const [row] = await t.sql<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_proc WHERE proname = 'tollgate_not_migrated'`;
    expect(row?.n).toBe(0n);
  });

  it('reports a file that does not create the function it is named after', async () => {
    const drift = await compareFunctionFiles(t.sql, [
      {
        name: 'tollgate_misnamed',
        path: 'sql/functions/tollgate_misnamed.sql',
        text: 'CREATE OR REPLACE FUNCTION tollgate_other() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      },
    ]);
    expect(drift.invalid).toEqual([
      'sql/functions/tollgate_misnamed.sql must create exactly the function tollgate_misnamed; it created tollgate_other',
    ]);
  });
});
