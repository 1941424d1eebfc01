import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File name of the dev-mode JWT secret inside the data directory (`.data/` by default). */
export const DEV_JWT_SECRET_FILE = 'dev-jwt-secret';

export type DevSecret = {
  secret: string;
  file: string;
  /** true: generated now (first boot, or the file was deleted); false: read back from an earlier boot. */
  created: boolean;
  /** true: the file was readable by other users and was made 0600 now. */
  tightened: boolean;
};

/**
 * Dev mode only (no JWT_SECRET / JWT_JWKS_URL): the HS256 secret kept in `<dataDir>/dev-jwt-secret`
 * (mode 0600), so dev tokens, like the tenants and balances in `.data/postgres`, survive a restart.
 * A random secret per boot made every printed or issued token invalid after a restart. Deleting the
 * file revokes every dev token at the next boot. Production never calls this (env.ts requires keys).
 */
export async function loadDevJwtSecret(dataDir: string): Promise<DevSecret> {
  const file = join(dataDir, DEV_JWT_SECRET_FILE);
  await mkdir(dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64url');
  // Written whole to a private temp file, then hard-linked into place: link() fails when the file
  // exists, so two gateways booting at once agree on one secret, and no reader sees half a file.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${generated}\n`, { flag: 'wx', mode: 0o600 });
  try {
    await link(temp, file);
    return { secret: generated, file, created: true, tightened: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(temp, { force: true });
  }
  let tightened = false;
  if (((await stat(file)).mode & 0o077) !== 0) {
    await chmod(file, 0o600);
    tightened = true;
  }
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < 32) {
    throw new Error(
      `${file} does not hold a dev JWT secret of at least 32 characters: delete it (a new one is generated at the next start; tokens signed with the old one stop working), or set JWT_SECRET`,
    );
  }
  return { secret, file, created: false, tightened };
}
