/**
 * Where a DiskCache lives: its `dir` read as a path or a file: URL (a URL object or text), and
 * its folders made, one at a time, with an error that says what stood in the way.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, ForkJoinError, InvalidTypeError, InvalidValueError } from '../errors.js';

/**
 * Text that names a URL of some scheme: two or more letters, a colon and `//` (`https://…`,
 * `s3://…`). A Windows drive (`C:\cache`, `c:/cache`) has a one-letter scheme, and a relative
 * path that holds a colon (`cache:v1`) has no `//` after it: both stay paths.
 */
const URL_TEXT = /^[a-z][a-z\d+.-]+:\/\//i;

/** The absolute directory `dir` names; refuses what cannot be one, before anything is made. */
export function cacheDirOf(where: string, dir: unknown): string {
  if (typeof dir !== 'string' && !(dir instanceof URL)) {
    throw new InvalidTypeError(`${where}: dir must be a path or a file: URL; received ${dir === null ? 'null' : typeof dir}`);
  }
  // A URL given as text is a URL too (as taskModule takes one), not a folder named "file:" or "https:".
  const path = dir instanceof URL ? urlPath(where, dir) : dir.startsWith('file:') || URL_TEXT.test(dir) ? urlPath(where, new URL(dir)) : dir;
  // '' would resolve to the working directory and fill it with the cache's folders.
  if (path === '') throw new InvalidValueError(`${where}: dir must not be empty; give the cache a directory of its own, such as '.forkjoin-cache'`);
  if (path.includes('\0')) throw new InvalidValueError(`${where}: dir must not hold a NUL byte (no file system accepts one in a path); received ${JSON.stringify(path)}`);
  return isAbsolute(path) ? path : resolve(path);
}

/** The path of a file: URL; another URL is refused as the wrong value. */
function urlPath(where: string, url: URL): string {
  try {
    return fileURLToPath(url);
  } catch (cause) {
    throw new InvalidValueError(`${where}: dir must be a path or a file: URL of a directory; received ${url.href}`, { cause });
  }
}

/**
 * mkdir -p, one folder at a time: Node's recursive mkdir loops forever where a folder can
 * never be made (under /proc), where this fails with the first folder's error.
 */
function makeFolder(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(path).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
    makeFolder(dirname(path));
    mkdirSync(path);
  }
}

/** Makes the cache's folders; a path that cannot hold them (a file in the way, no permission) fails here, with a code. */
export function makeFolders(dir: string, folders: readonly string[]): void {
  try {
    for (const folder of folders) makeFolder(folder);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new ForkJoinError(
      ErrorCodes.CACHE_WRITE_FAILED,
      `DiskCache: cannot create the cache directory ${dir}: ${message}; give a path whose folders can be created and written`,
      { cause, dir },
    );
  }
}
