/**
 * The file a task module's URL runs, and the stamp (size, modification time,
 * inode) that file had when this process first named the module for an
 * executor, before any worker could import it. A graph's cache key reads the
 * file later; the stamp tells whether it changed in between, that is whether
 * workers may hold other code than the key would describe.
 */
import { statSync, type Stats } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** TypeScript sources a loader such as tsx runs for a module imported by its .js name. */
const typeScriptNames: ReadonlyArray<[RegExp, string]> = [[/\.js$/, '.ts'], [/\.js$/, '.tsx'], [/\.mjs$/, '.mts'], [/\.cjs$/, '.cts']];

/** The file run for the module at `path`: itself, or the TypeScript file run in its place; null when neither exists. */
export function moduleFile(path: string): { path: string; stat: Stats } | null {
  try {
    return { path, stat: statSync(path) };
  } catch { /* not there: perhaps a .ts file run under a TypeScript loader */ }
  for (const [from, to] of typeScriptNames) {
    if (!from.test(path)) continue;
    const other = path.replace(from, to);
    try {
      return { path: other, stat: statSync(other) };
    } catch { /* try the next */ }
  }
  return null;
}

/** What identifies one version of a file without reading it. */
export interface Stamp {
  readonly mtimeMs: number;
  readonly size: number;
  readonly ino: number;
}

export function stampOf(stat: Stats): Stamp {
  return { mtimeMs: stat.mtimeMs, size: stat.size, ino: stat.ino };
}

export function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/** By module URL: the stamp of its file when first named (null: it had none then). */
const named = new Map<string, Stamp | null>();

/** Notes the stamp of the module at `url`'s file the first time this process names it for an executor. */
export function noteModuleNamed(url: string): void {
  if (named.has(url) || !url.startsWith('file:')) return;
  let stamp: Stamp | null = null;
  try {
    const file = moduleFile(fileURLToPath(url));
    if (file !== null) stamp = stampOf(file.stat);
  } catch { /* not a path of this system: nothing can load it */ }
  named.set(url, stamp);
}

/** The stamp noted when the module at `url` was first named; undefined when it never was. */
export function stampWhenNamed(url: string): Stamp | null | undefined {
  return named.get(url);
}
