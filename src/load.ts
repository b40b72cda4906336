/**
 * Loads the built library for the ES modules that export it (dist/index.js,
 * dist/sync/decode.js): one instance per thread of dist/lib/forkjoin.js, and of each part
 * it loads on first use (dist/lib/<part>.js: the command runner, the graph scheduler, the
 * cluster client), each compiled with a V8 code cache kept beside it. With the cache, V8
 * reads compiled code instead of parsing 250 KB of source, which is most of what
 * `import 'forkjoin'` would cost.
 *
 * A cache holds for one script file as it is (its path, size and time, which an edit
 * changes) under one Node version, and its name says which: V8 checks only the length of
 * the source, and takes the script's path from the cache. It is written whole or not at all
 * (renamed into place), for V8 trusts what it reads. The build writes the caches for where
 * it built the package; where a script has none (the package installed or moved), the first
 * import compiles the source and writes one, if it can. Under other V8 flags V8 refuses a
 * cache and compiles the source, as an import would.
 *
 * Each script runs in a function, as a CommonJS module does, given three more things:
 * `forkjoinHost` (import and resolve, which only an ES module can do: src/host.ts),
 * `forkjoinPart(name)` (a part's exports, loaded now) and, for a part, `forkjoinModules`
 * (the library's modules it imports, so that it shares their classes and state).
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { Host } from './host.js';

type Exports = Record<string, unknown>;

interface Loaded {
  exports: Exports;
  script: Script;
  cacheFile: string;
  cacheUsed: boolean;
}

const libDir = join(__dirname, 'lib');
const loaded = new Map<string, Loaded>();
let host: Host | null = null;

const PARAMS = 'exports, require, module, __filename, __dirname, forkjoinHost, forkjoinPart, forkjoinModules';

/** Two 32-bit FNV-1a hashes of a short string, in hex. */
function fnv(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9dc5811c;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ text.charCodeAt(text.length - 1 - i), 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The script's source, and the cache file for it as it is now. */
function readScript(file: string, name: string): { source: string; cacheFile: string } {
  const st = statSync(file);
  const source = readFileSync(file, 'utf8');
  const key = fnv(`${file}\0${st.size}\0${st.mtimeMs}\0${process.version}\0${process.arch}`);
  return { source, cacheFile: join(libDir, `${name}.${key}.cache`) };
}

/** The V8 data of a cache file, when there is one. */
function readCache(cacheFile: string): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/**
 * Writes a cache file whole or not at all (another process may be writing the same one);
 * false if it cannot. `data` is made only once the file could be created: a read-only
 * install pays for a failed open, not for serializing the cache.
 */
function writeCache(cacheFile: string, data: () => Buffer): boolean {
  const temp = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  let fd: number;
  try {
    fd = openSync(temp, 'wx');
  } catch {
    return false;
  }
  try {
    try {
      writeFileSync(fd, data());
    } finally {
      closeSync(fd);
    }
    renameSync(temp, cacheFile);
    return true;
  } catch {
    try {
      unlinkSync(temp);
    } catch { /* gone */ }
    return false;
  }
}

function load(name: string): Exports {
  const done = loaded.get(name);
  if (done !== undefined) return done.exports;
  const file = join(libDir, `${name}.js`);
  const { source, cacheFile } = readScript(file, name);
  const cachedData = readCache(cacheFile);
  // On one line with the source's first, so that stack traces keep its line numbers.
  const script = new Script(`(function (${PARAMS}) {"use strict";${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} as Exports };
  const modules = name === 'forkjoin' ? undefined : load('forkjoin').forkjoinModules;
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, libDir, host, load, modules);
  loaded.set(name, { exports: module.exports, script, cacheFile, cacheUsed: cachedData !== undefined && !script.cachedDataRejected });
  // None yet for this file as it is: the next import here finds one. (One V8 refused is left
  // alone: it was written under other flags, which the next run may have again.)
  if (cachedData === undefined) writeCache(cacheFile, () => script.createCachedData());
  return module.exports;
}

/** The library's exports; `imports` imports and resolves for it (only the first caller's is kept). */
export function library(imports: Host): Exports {
  host ??= imports;
  return load('forkjoin');
}

/**
 * For the build: writes the code cache of each script this process loaded, as it has run
 * them, so that the functions they compiled are in it. Returns the files written.
 */
export function writeCodeCaches(): string[] {
  const written: string[] = [];
  for (const { script, cacheFile } of loaded.values()) {
    if (!writeCache(cacheFile, () => script.createCachedData())) throw new Error(`forkjoin: cannot write ${cacheFile}`);
    written.push(cacheFile);
  }
  return written;
}

/** The scripts loaded so far, and whether V8 took each one's code cache (for the build's check). */
export function codeCacheUse(): Record<string, boolean> {
  return Object.fromEntries([...loaded].map(([name, { cacheUsed }]) => [name, cacheUsed]));
}
