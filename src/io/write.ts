import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HpyMigrateError } from '../api/index.js';
import { describeError, encodeSource, type Encoding } from './source-file.js';

/** Where to write, and the original file's metadata if there is one. */
interface Target {
  file: string;
  stats: Stats | undefined;
}

/**
 * Replaces a file's content atomically: the bytes go to a temp file in the same directory, which
 * gets the original's mode (and owner, when running as root) and is then renamed over it. A
 * symlink is written through, so the link stays a link. Throws `HpyMigrateError('io')` with
 * "cannot write 'P': reason" if the target is read-only or anything fails; no temp file is left.
 */
export async function writeAtomic(path: string, text: string, encoding: Encoding): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = encodeSource(text, encoding);
  } catch (error) {
    throw writeError(path, error);
  }
  const target = await resolveTarget(path);
  const temp = join(
    dirname(target.file),
    `.${basename(target.file)}.hpy-migrate-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await writeTemp(temp, bytes, target.stats);
    await rename(temp, target.file);
  } catch (error) {
    await rm(temp, { force: true });
    throw writeError(path, error);
  }
}

/** Resolves symlinks and refuses targets that must not be replaced. */
async function resolveTarget(path: string): Promise<Target> {
  let file: string;
  let stats: Stats;
  try {
    file = await realpath(path);
    stats = await stat(file);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { file: resolve(path), stats: undefined };
    throw writeError(path, error);
  }
  if (!stats.isFile()) throw writeError(path, 'not a regular file');
  // Checked by hand as well as with access(): root passes access() on a read-only file.
  if ((stats.mode & 0o222) === 0) throw writeError(path, 'the file is read-only');
  try {
    await access(file, constants.W_OK);
  } catch (error) {
    throw writeError(path, error);
  }
  return { file, stats };
}

/** Creates the temp file with the final mode and owner before any byte is written to it. */
async function writeTemp(temp: string, bytes: Buffer, stats: Stats | undefined): Promise<void> {
  const handle = await open(temp, 'wx', stats ? 0o600 : 0o666);
  try {
    if (stats) {
      // chown before chmod: changing the owner clears set-user-id bits.
      if (process.getuid?.() === 0) await handle.chown(stats.uid, stats.gid);
      await handle.chmod(stats.mode & 0o7777);
    }
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function writeError(path: string, reason: unknown): HpyMigrateError {
  const text = typeof reason === 'string' ? reason : describeError(reason);
  return new HpyMigrateError('io', `cannot write '${path}': ${text}`);
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
