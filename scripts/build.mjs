#!/usr/bin/env node
// Builds dist/: tsc checks the types and writes the declarations; esbuild bundles
// the JavaScript, so that `import 'forkjoin'`, a worker's start and the CLI's
// start each read one or two files instead of ~80 modules. The examples are
// compiled last, against dist.
//
// - the library (index.js) and the locks' decoder for workers (sync/decode.js)
//   share chunks: a task that imports 'forkjoin' in a worker meets the very lock
//   classes the runtime revived for it;
// - each worker entry is one file of its own (a worker starts by reading it);
// - the CLI's main is one small CommonJS file; each command is one more, loaded when it runs.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
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

/**
 * Parts of the library that load on first use (`import()`): the command runner, the graph
 * scheduler, the cluster client. esbuild gives every set of entry points sharing a module
 * a chunk of its own, so the library these parts share with index.js would be spread over
 * many small chunks, each one more file for `import 'forkjoin'` to resolve and link (about
 * half a millisecond each). Making each lazy part reach index.ts too puts the whole eager
 * library in one chunk.
 */
const LAZY_PARTS = /[\\/]src[\\/](shell[\\/]runner|graph[\\/]engine|cluster[\\/]client|cluster[\\/]local-cluster)\.ts$/;
const oneEagerChunk = {
  name: 'one-eager-chunk',
  setup(b) {
    b.onLoad({ filter: LAZY_PARTS }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(args.path, 'utf8');
      return { contents: `import ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};\n${source}`, loader: 'ts' };
    });
  },
};
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
await build({ ...common, entryPoints: ['src/index.ts', 'src/sync/decode.ts'], splitting: true, chunkNames: 'chunks/[name]-[hash]', plugins: [oneEagerChunk] });
await build({ ...common, entryPoints: ['src/pool/worker/thread-entry.ts', 'src/pool/worker/process-entry.ts', 'src/pool/worker/watchdog.ts'] });
// The CLI: a small main that loads the one file of the command it runs. The main and `run`
// are CommonJS, which Node starts without its ES module loader: a shorter start for a
// command that is run again and again.
const commonjs = {
  ...common,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/import-meta-url.cjs'],
};
await build({ ...commonjs, entryPoints: ['src/cli/main.ts'], external: ['./engine.js', './cluster.js'] });
await build({ ...commonjs, entryPoints: ['src/cli/run.ts'] });
await build({ ...common, entryPoints: ['src/cli/engine.ts', 'src/cli/cluster.ts'], splitting: true, chunkNames: 'chunks/cli-[name]-[hash]' });

step(['-p', 'examples/tsconfig.json']);
