// The ledger CSV guards text cells in SQL (`csvTextSql`), the other CSVs in JavaScript (`csvText`):
// the same cell must come out the same from both, including the blanks before a formula character.
import { createTestDatabase, type TestDatabase } from '@tollgate/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvText } from '../src/reports/csv.ts';
import { csvTextSql } from '../src/reports/routes.ts';

const CELLS = [
  '=1+2',
  ' =1+2',
  '   +SUM(A1)',
  '\u00a0-2+3',
  '\n@cmd',
  '\t=x',
  '\tx',
  '\rx',
  ' \u3000\ufeff=x',
  '\u2000\u200a@x',
  '  plain',
  '   ',
  'plain',
  'a =b',
  '-12.50',
  'é=',
];

describe('csvTextSql ≡ csvText', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ max: 1 });
  });
  afterAll(async () => {
    await db.close();
  });

  it.each(CELLS.map((c) => [JSON.stringify(c), c]))('%s', async (_, cell) => {
    const [row] = await db.sql.unsafe<{ v: string | null }[]>(`SELECT ${csvTextSql('$1::text')} AS v`, [
      cell,
    ]);
    expect(row?.v).toBe(csvText(cell));
  });
});
