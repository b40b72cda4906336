/**
 * What a task's code is, for cache keys: an inline function's source, or the
 * contents of a task module's file (read and hashed once per path and
 * modification time), so a changed task never meets a stale result.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TaskSpec } from '../task.js';
import { Hasher, type Digest } from './hash.js';

interface FileDigest {
  mtimeMs: number;
  size: number;
  ino: number;
  digest: Digest;
}

const files = new Map<string, FileDigest>();
const inline = new WeakMap<TaskSpec, Digest>();

/** The digest of a file's contents, re-read only when its size, mtime or inode changed. */
function fileDigest(path: string): Digest {
  const st = statSync(path);
  const known = files.get(path);
  if (known !== undefined && known.mtimeMs === st.mtimeMs && known.size === st.size && known.ino === st.ino) return known.digest;
  const h = new Hasher();
  h.bytes(readFileSync(path));
  const digest = h.digest();
  files.set(path, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, digest });
  return digest;
}

/** TypeScript sources a loader such as tsx runs for a module imported by its .js name. */
const typeScriptNames: ReadonlyArray<[RegExp, string]> = [[/\.js$/, '.ts'], [/\.js$/, '.tsx'], [/\.mjs$/, '.mts'], [/\.cjs$/, '.cts']];

/** The digest of the module file at `path`, or of the TypeScript file run in its place; null when neither can be read. */
function sourceDigest(path: string): Digest | null {
  try {
    return fileDigest(path);
  } catch { /* not there: perhaps a .ts file run under a TypeScript loader */ }
  for (const [from, to] of typeScriptNames) {
    if (!from.test(path)) continue;
    try {
      return fileDigest(path.replace(from, to));
    } catch { /* try the next */ }
  }
  return null;
}

/**
 * The digest of a task's code, or null when its file cannot be read (the task
 * then runs uncached, and its executor reports why it cannot load). Call once
 * per task per computation: the file is checked at each call, so an edit
 * between two runs is seen.
 */
export function codeDigest(spec: TaskSpec): Digest | null {
  if (spec.kind === 'inline') {
    let digest = inline.get(spec);
    if (digest === undefined) {
      const h = new Hasher();
      h.string('inline');
      h.string(spec.code);
      digest = h.digest();
      inline.set(spec, digest);
    }
    return digest;
  }
  const h = new Hasher();
  h.string('module');
  h.string(spec.name);
  if (spec.code.startsWith('file:')) {
    const digest = sourceDigest(fileURLToPath(spec.code));
    if (digest === null) return null;
    h.digestOf(digest);
  } else {
    // data: URLs carry their code; node: builtins change with Node itself.
    h.string(spec.code);
    if (spec.code.startsWith('node:')) h.string(process.version);
  }
  return h.digest();
}
