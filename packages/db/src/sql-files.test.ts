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

  it('matches overloads by arguments: a compatibility shim has its own file', async () => {
    const files = readFunctionFiles();
    const shim = files.find((f) => f.name === 'tollgate_open_job' && f.path.endsWith('.compat_2598228.sql'));
    const today = files.find(
      (f) => f.name === 'tollgate_open_job' && f.path.endsWith('/tollgate_open_job.sql'),
    );
    if (!shim || !today) throw new Error('expected both tollgate_open_job files');
    // Without the shim's file, its overload in the database has no file.
    let drift = await compareFunctionFiles(
      t.sql,
      files.filter((f) => f !== shim),
    );
    expect(
      drift.withoutFile.map((f) => `${f.name}: ${f.identityArguments.split(',').length} arguments`),
    ).toEqual(['tollgate_open_job: 16 arguments']);
    expect(drift.differs).toEqual([]);
    // A second overload's file the migrations do not create is new (its own CREATE in a migration).
    const another = {
      name: 'tollgate_reserve',
      path: 'sql/functions/tollgate_reserve.compat_test.sql',
      text: 'CREATE OR REPLACE FUNCTION tollgate_reserve(p_tenant_id text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
    };
    drift = await compareFunctionFiles(t.sql, [...files, another]);
    expect(drift.notInDatabase.map((f) => f.path)).toEqual([another.path]);
    expect(drift.differs).toEqual([]);
    expect(drift.withoutFile).toEqual([]);
    // Two files creating the same function: the second creates nothing new.
    drift = await compareFunctionFiles(t.sql, [
      ...files,
      { ...shim, path: 'sql/functions/tollgate_open_job.copy.sql' },
    ]);
    expect(drift.invalid).toEqual([
      'sql/functions/tollgate_open_job.copy.sql must create exactly the function tollgate_open_job; it created nothing',
    ]);
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
