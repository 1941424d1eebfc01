// Today's database functions, one file each under packages/db/sql/functions/, and the comparison of
// those files with a database's functions: used by the drift test (sql-files.test.ts, on a freshly
// migrated database) and by `pnpm --filter @tollgate/db sql:migration <name>`, which writes a new
// migration holding the files that differ from what the committed migrations produce.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql, TransactionSql } from 'postgres';

/**
 * One file per function, named `<function name>.sql`, holding its `CREATE OR REPLACE FUNCTION`. A
 * compatibility overload kept for the previous release's gateways (docs/scaling.md, Upgrades) is its
 * own file `<function name>.<what>.sql` (e.g. `tollgate_open_job.compat_2598228.sql`): functions are
 * matched with the database's by name and arguments.
 */
export const functionFilesFolder = fileURLToPath(new URL('../sql/functions', import.meta.url));

export interface FunctionFile {
  /** The function's name: the file's name up to its first `.`. */
  name: string;
  path: string;
  text: string;
}

export function readFunctionFiles(folder: string = functionFilesFolder): FunctionFile[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const file = path.join(folder, f);
      return { name: f.slice(0, f.indexOf('.')), path: file, text: readFileSync(file, 'utf8') };
    });
}

export interface DatabaseFunction {
  name: string;
  /** `pg_get_function_identity_arguments`, e.g. `p_tenant_id text, p_amount bigint`. */
  identityArguments: string;
  /** `pg_get_function_result`, e.g. `SETOF jobs`. */
  result: string;
  /** `pg_get_functiondef` with the schema of the function's name written as `public`. */
  definition: string;
}

export interface FunctionDrift {
  /** Functions in the database that no file defines. */
  withoutFile: DatabaseFunction[];
  /** Files whose function the database does not have. */
  notInDatabase: FunctionFile[];
  /** Files whose definition differs from the database's: both definitions as Postgres prints them. */
  differs: { file: FunctionFile; database: DatabaseFunction; fromFile: DatabaseFunction }[];
  /** Problems with the files themselves (a file that does not create its one function, e.g. one another file already created). */
  invalid: string[];
}

const SCRATCH = 'tollgate_sql_files_check';

class Rollback extends Error {
  constructor(readonly drift: FunctionDrift) {
    super('rollback');
  }
}

// Functions of a schema, extensions' own excluded. Definitions are Postgres's reprint, so
// formatting outside the body (argument lists, LANGUAGE, volatility) is normalised, and the body
// (prosrc) is compared as written.
async function functionsOf(sql: Sql | TransactionSql, schema: string): Promise<DatabaseFunction[]> {
  const rows = await sql<{ name: string; identity_arguments: string; result: string; definition: string }[]>`
    SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS identity_arguments,
           pg_get_function_result(p.oid) AS result, pg_get_functiondef(p.oid) AS definition
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ${schema}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY p.proname, 2`;
  return rows.map((r) => ({
    name: r.name,
    identityArguments: r.identity_arguments,
    result: r.result,
    definition: r.definition.replace(`FUNCTION ${schema}.`, 'FUNCTION public.'),
  }));
}

/**
 * Compares the database's functions (schema `public`) with the files: each file is run in a scratch
 * schema inside a transaction that is rolled back, and `pg_get_functiondef` of the two is compared.
 * Changes nothing in the database.
 */
export async function compareFunctionFiles(
  sql: Sql,
  files: FunctionFile[] = readFunctionFiles(),
): Promise<FunctionDrift> {
  try {
    await sql.begin(async (tx) => {
      const drift: FunctionDrift = { withoutFile: [], notInDatabase: [], differs: [], invalid: [] };
      const inDatabase = await functionsOf(tx, 'public');
      // A function is its name and arguments: an overload (a compatibility shim) has its own file.
      const keyOf = (f: DatabaseFunction) => `${f.name}(${f.identityArguments})`;
      const byKey = new Map(inDatabase.map((f) => [keyOf(f), f]));
      const matched = new Set<string>();
      await tx.unsafe(`CREATE SCHEMA ${SCRATCH}`);
      await tx.unsafe(`SET LOCAL search_path = ${SCRATCH}, public`);
      for (const file of files) {
        const before = await functionsOf(tx, SCRATCH);
        await tx.unsafe(file.text);
        const created = (await functionsOf(tx, SCRATCH)).filter(
          (f) => !before.some((b) => b.name === f.name && b.identityArguments === f.identityArguments),
        );
        const fromFile = created[0];
        if (created.length !== 1 || fromFile === undefined || fromFile.name !== file.name) {
          drift.invalid.push(
            `${file.path} must create exactly the function ${file.name}; it created ${created.map((c) => c.name).join(', ') || 'nothing'}`,
          );
          continue;
        }
        const key = keyOf(fromFile);
        // A file alone with its name and a database function of that name with other arguments:
        // the signature changed; compared with it, so the migration drops the old one first.
        const database =
          byKey.get(key) ??
          (files.filter((o) => o.name === file.name).length === 1
            ? inDatabase.find((f) => f.name === file.name)
            : undefined);
        if (database) matched.add(keyOf(database));
        if (!database) drift.notInDatabase.push(file);
        else if (database.definition !== fromFile.definition)
          drift.differs.push({ file, database, fromFile });
      }
      drift.withoutFile = inDatabase.filter((f) => !matched.has(keyOf(f)));
      throw new Rollback(drift);
    });
  } catch (e) {
    if (e instanceof Rollback) return e.drift;
    throw e;
  }
  throw new Error('unreachable: the comparison transaction always rolls back');
}

/** A readable account of a drift, empty when there is none. */
export function describeDrift(drift: FunctionDrift): string[] {
  return [
    ...drift.invalid,
    ...drift.withoutFile.map(
      (f) =>
        `${f.name}(${f.identityArguments}) is in the database but has no file sql/functions/${f.name}.sql`,
    ),
    ...drift.notInDatabase.map((f) => `${f.path}: the migrations do not create ${f.name}`),
    ...drift.differs.map(
      (d) =>
        `${d.file.path} differs from the migrated database's ${d.file.name}.\n--- database:\n${d.database.definition}\n--- file:\n${d.fromFile.definition}`,
    ),
  ];
}
