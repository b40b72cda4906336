/**
 * Loads the built library for the ES modules that export it (dist/index.js,
 * dist/sync/decode.js): one instance per thread of dist/lib/forkjoin.js, and of each part
 * it loads on first use (dist/lib/<part>.js: the command runner, the graph scheduler, the
 * cluster client), each compiled with the V8 code cache the build wrote beside it. With the
 * cache, V8 reads compiled code instead of parsing 250 KB of source, which is most of what
 * `import 'forkjoin'` would cost. A cache holds for the Node version and V8 flags that wrote
 * it; under others V8 refuses it and compiles the source, as an import would.
 *
 * Each script runs in a function, as a CommonJS module does, given three more things:
 * `forkjoinHost` (import and resolve, which only an ES module can do: src/host.ts),
 * `forkjoinPart(name)` (a part's exports, loaded now) and, for a part, `forkjoinModules`
 * (the library's modules it imports, so that it shares their classes and state).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { Host } from './host.js';

type Exports = Record<string, unknown>;

interface Loaded {
  exports: Exports;
  script: Script;
  cacheFile: string | null;
  cacheUsed: boolean;
}

const libDir = join(__dirname, 'lib');
const loaded = new Map<string, Loaded>();
let host: Host | null = null;

const PARAMS = 'exports, require, module, __filename, __dirname, forkjoinHost, forkjoinPart, forkjoinModules';

function load(name: string): Exports {
  const done = loaded.get(name);
  if (done !== undefined) return done.exports;
  const file = join(libDir, `${name}.js`);
  const source = readFileSync(file, 'utf8');
  // The build writes its id on the first line and names the cache after it: a cache made
  // for other source is never used for this one.
  const build = /^\/\/ forkjoin build (\w+)/.exec(source)?.[1];
  const cacheFile = build === undefined ? null : join(libDir, `${name}.${build}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = cacheFile === null ? undefined : readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // On one line with the source's first, so that stack traces keep its line numbers.
  const script = new Script(`(function (${PARAMS}) {"use strict";${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} as Exports };
  const modules = name === 'forkjoin' ? undefined : load('forkjoin').forkjoinModules;
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, libDir, host, load, modules);
  loaded.set(name, { exports: module.exports, script, cacheFile, cacheUsed: cachedData !== undefined && !script.cachedDataRejected });
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
    if (cacheFile === null) continue;
    writeFileSync(cacheFile, script.createCachedData());
    written.push(cacheFile);
  }
  return written;
}

/** The scripts loaded so far, and whether V8 took each one's code cache (for the build's check). */
export function codeCacheUse(): Record<string, boolean> {
  return Object.fromEntries([...loaded].map(([name, { cacheUsed }]) => [name, cacheUsed]));
}
