#!/usr/bin/env node
// Builds dist/: tsc checks the types and writes the declarations; esbuild bundles
// the JavaScript, so that `import 'forkjoin'`, a worker's start and the CLI's
// start each read one or two files instead of ~80 modules. The examples are
// compiled last, against dist.
//
// - the library is one script, dist/lib/forkjoin.js, with a V8 code cache beside it
//   (src/load.ts loads both; scripts/code-cache.mjs writes the cache); dist/index.js and the locks' decoder for workers
//   (dist/sync/decode.js) are ES modules that export what it holds, so a task that
//   imports 'forkjoin' in a worker meets the very lock classes the runtime revived for it;
// - each worker entry is one file of its own (a worker starts by reading it);
// - the CLI's main is one small CommonJS file; each command is one more, loaded when it runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

function step(args) {
  const done = spawnSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });
  if (done.status !== 0) process.exit(done.status ?? 1);
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
step(['-p', 'tsconfig.json', '--emitDeclarationOnly']);

const { build } = await import('esbuild');

const common = {
  absWorkingDir: root,
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // No keepNames: its __name() wrappers cost 3 ms of every `import 'forkjoin'` (V8 compiles a
  // function in parentheses eagerly). Classes keep their names anyway, but for one that names
  // itself in its own body (esbuild then names it _Class): test/package.test.js checks that every
  // export keeps its name.
  keepNames: false,
  logLevel: 'warning',
};
// The library is a script: import.meta's two uses come from the wrapper src/load.ts runs it in.
const commonjsLibrary = {
  ...common,
  outdir: undefined,
  outbase: undefined,
  format: 'cjs',
  define: { 'import.meta.url': 'importMetaUrl', 'import.meta.resolve': 'forkjoinHost.resolve' },
  inject: ['scripts/import-meta-url.cjs'],
  // esbuild warns of import.meta in a CommonJS build even where `define` replaces it.
  logOverride: { 'empty-import-meta': 'silent' },
};
/**
 * The library's parts loaded on first use, each a script of its own: `import()` of the
 * first module loads the part (src/load.ts). The cluster client's part holds the local
 * cluster too (they share the Redis libraries' state).
 */
const PARTS = { runner: 'src/shell/runner.ts', engine: 'src/graph/engine.ts', client: 'src/cluster/client.ts' };
const PART_OF = { './runner.js': 'runner', './engine.js': 'engine', './client.js': 'client' };
const src = fileURLToPath(new URL('../src/', import.meta.url));

/** `import('./runner.js')` and the like, from the library: the part, loaded by src/load.ts. */
const loadsParts = {
  name: 'loads-parts',
  setup(b) {
    b.onResolve({ filter: /^\.\/(runner|engine|client)\.js$/ }, (args) => (args.importer.startsWith(src) && args.kind === 'dynamic-import' ? { path: PART_OF[args.path], namespace: 'part' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'part' }, (args) => ({ contents: `module.exports = forkjoinPart(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** In a part, a module of the library is the library's own instance (its classes, its state). */
function sharesLibrary(libraryModules, used) {
  return {
    name: 'shares-library',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.namespace !== 'file' || args.pluginData === 'shares-library') return undefined;
        const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'shares-library' });
        const key = found.path.startsWith(src) ? found.path.slice(src.length) : null;
        if (key === null || !libraryModules.has(key)) return undefined;
        used.add(key);
        return { path: key, namespace: 'library' };
      });
      b.onLoad({ filter: /.*/, namespace: 'library' }, (args) => ({ contents: `module.exports = forkjoinModules[${JSON.stringify(args.path)}];`, loader: 'js' }));
    },
  };
}

/** Writes a script under dist/lib (src/load.ts runs it). */
function writeScript(name, code) {
  mkdirSync(new URL('../dist/lib', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../dist/lib/${name}.js`, import.meta.url), code);
}

/**
 * The library as CommonJS scripts (dist/lib/forkjoin.js and one per part), the loader, and
 * the ES modules that export the library's names.
 */
async function buildLibrary() {
  const entry = (contents) => ({ stdin: { contents, resolveDir: src, sourcefile: 'library-entry.ts', loader: 'ts' } });
  // First the library alone, to learn its modules; then each part, mapping those modules to
  // the library's; last the library again, exporting the modules the parts use.
  const alone = await build({ ...commonjsLibrary, ...entry("export * from './library.js';"), outfile: 'dist/lib/forkjoin.js', write: false, metafile: true, plugins: [loadsParts] });
  const libraryModules = new Set(Object.keys(alone.metafile.inputs).filter((path) => path.startsWith('src/')).map((path) => path.slice('src/'.length)));
  const used = new Set();
  for (const [name, file] of Object.entries(PARTS)) {
    const part = await build({ ...commonjsLibrary, entryPoints: [file], outfile: `dist/lib/${name}.js`, write: false, plugins: [sharesLibrary(libraryModules, used)] });
    writeScript(name, part.outputFiles[0].text);
  }
  const keys = [...used].sort();
  const shared =
    "export * from './library.js';\n" +
    keys.map((key, i) => `import * as m${i} from './${key.replace(/\.ts$/, '.js')}';\n`).join('') +
    `export const forkjoinModules = { ${keys.map((key, i) => `${JSON.stringify(key)}: m${i}`).join(', ')} };\n`;
  const library = await build({ ...commonjsLibrary, ...entry(shared), outfile: 'dist/lib/forkjoin.js', write: false, plugins: [loadsParts] });
  writeScript('forkjoin', library.outputFiles[0].text);
  await build({ ...commonjsLibrary, entryPoints: ['src/load.ts'], outfile: 'dist/load.cjs' });

  // The names index.js exports: every one of the library's but the decoder's and the parts'.
  const internal = ['decodeSync'];
  const hidden = [...internal, 'forkjoinModules'];
  const probe = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(Object.keys(require('./dist/load.cjs').library({}))))`], { cwd: root, encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`the built library failed to load: ${probe.stderr}`);
  const names = JSON.parse(probe.stdout);
  for (const name of hidden) if (!names.includes(name)) throw new Error(`the built library lacks ${name}`);
  const host = '{ importModule: (specifier) => import(specifier), resolve: (specifier) => import.meta.resolve(specifier) }';
  const facade = (exported, load) =>
    `// Exports the library (dist/lib/forkjoin.js), loaded by ${load} (see src/load.ts).\n` +
    `import { createRequire } from 'node:module';\n\n` +
    `const library = createRequire(import.meta.url)('${load}').library(${host});\n\n` +
    `export const {\n${exported.map((name) => `  ${name},`).join('\n')}\n} = library;\n`;
  writeFileSync(new URL('../dist/index.js', import.meta.url), facade(names.filter((name) => !hidden.includes(name)), './load.cjs'));
  mkdirSync(new URL('../dist/sync', import.meta.url), { recursive: true });
  writeFileSync(new URL('../dist/sync/decode.js', import.meta.url), facade(internal, '../load.cjs'));
}

await buildLibrary();
await build({ ...common, entryPoints: ['src/pool/worker/thread-entry.ts', 'src/pool/worker/process-entry.ts', 'src/pool/worker/watchdog.ts'] });
// The CLI: a small main that loads the one file of the command it runs. The main and `run`
// are CommonJS, which Node starts without its ES module loader: a shorter start for a
// command that is run again and again.
const commonjs = {
  ...common,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // A script has no import.meta: its URL is injected, and resolving falls back to require's.
  define: { 'import.meta.url': 'importMetaUrl', 'import.meta.resolve': 'require.resolve' },
  inject: ['scripts/import-meta-url.cjs'],
  logOverride: { 'empty-import-meta': 'silent' },
};
await build({ ...commonjs, entryPoints: ['src/cli/main.ts'], external: ['./engine.js', './cluster.js'] });
await build({ ...commonjs, entryPoints: ['src/cli/run.ts'] });
await build({ ...common, entryPoints: ['src/cli/engine.ts', 'src/cli/cluster.ts'], splitting: true, chunkNames: 'chunks/cli-[name]-[hash]' });

step(['-p', 'examples/tsconfig.json']);

// Last, the library's code cache, written by a process that has run a pool or two (see
// scripts/code-cache.mjs); a build that cannot write it still works, only slower to import.
const cached = spawnSync(process.execPath, ['scripts/code-cache.mjs'], { cwd: root, stdio: 'inherit' });
if (cached.status !== 0) console.warn('build: the code cache was not written; import \'forkjoin\' will compile the library from source');
