import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET_FILE, loadDevJwtSecret } from './dev-secret.ts';

describe('dev-mode JWT secret kept in the data directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-dev-secret-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is generated once (mode 0600) and read back at the next boot: tokens survive a restart', async () => {
    const dataDir = join(dir, '.data'); // missing: created
    const first = await loadDevJwtSecret(dataDir);
    expect(first).toMatchObject({ created: true, file: join(dataDir, DEV_JWT_SECRET_FILE) });
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
    const second = await loadDevJwtSecret(dataDir);
    expect(second).toEqual({ ...first, created: false });
  });

  it('two gateways booting at once agree on one secret', async () => {
    const [a, b] = await Promise.all([loadDevJwtSecret(dir), loadDevJwtSecret(dir)]);
    expect(a.secret).toBe(b.secret);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(await readdir(dir), 'no temp file left behind').toEqual([DEV_JWT_SECRET_FILE]);
  });

  it('a file readable by others is made 0600; a damaged one stops the boot with what to do', async () => {
    const file = join(dir, DEV_JWT_SECRET_FILE);
    await writeFile(file, `${'s'.repeat(40)}\n`, { mode: 0o644 });
    const loaded = await loadDevJwtSecret(dir);
    expect(loaded).toMatchObject({ secret: 's'.repeat(40), tightened: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(file, 'short\n');
    await expect(loadDevJwtSecret(dir)).rejects.toThrow(/delete it .*or set JWT_SECRET/);
    expect(await readFile(file, 'utf8')).toBe('short\n'); // never overwritten silently
  });
});
