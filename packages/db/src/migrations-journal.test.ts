import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrationsFolder } from './client';

// Drizzle's migrator applies a migration only when its journal `when` is later than the newest one
// the database has applied (drizzle.__drizzle_migrations.created_at), not by file name. Two branches
// that each generate a migration and land one after the other (renumbering the second) can leave a
// later-numbered migration with an earlier `when`: a fresh database (every test) still applies it,
// an installation already at the first one silently never does. This pins the journal's order.

type JournalEntry = { idx: number; when: number; tag: string };

const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
  entries: JournalEntry[];
};

describe('migrations journal', () => {
  it('numbers the migrations 0000, 0001, … in order, one SQL file each', () => {
    const entries = journal.entries;
    expect(entries.map((e) => e.idx)).toEqual(entries.map((_e, i) => i));
    for (const e of entries) expect(e.tag.slice(0, 5), e.tag).toBe(`${String(e.idx).padStart(4, '0')}_`);
    const files = readdirSync(migrationsFolder)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files).toEqual(entries.map((e) => `${e.tag}.sql`));
  });

  it('gives each migration a later `when` than the one before (else an upgraded database skips it)', () => {
    const late = journal.entries.filter((e, i) => i > 0 && e.when <= (journal.entries[i - 1]?.when ?? 0));
    expect(late.map((e) => e.tag)).toEqual([]);
  });
});
