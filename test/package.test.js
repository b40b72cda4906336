// The package as a user imports it: what the built output keeps of the source.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as forkjoin from 'forkjoin';
import { runNode, tempDir } from './fixtures/helpers.js';

test('every class and function forkjoin exports keeps its own name (stack traces, inspect, error labels)', () => {
  const functions = Object.entries(forkjoin).filter(([, value]) => typeof value === 'function');
  assert.ok(functions.length > 20, `${functions.length} exported functions`);
  for (const [name, value] of functions) assert.equal(value.name, name, `export ${name}`);
});

test('an error class names its instances after itself', () => {
  const errors = Object.entries(forkjoin).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
  assert.ok(errors.length >= 8, `${errors.length} error classes`);
  for (const [name, ErrorClass] of errors) {
    const made = Object.create(ErrorClass.prototype);
    // TypeError/RangeError subclasses present themselves as the built-in kind, as Node's own do.
    assert.ok([name, 'TypeError', 'RangeError'].includes(made.name), `${name}: ${made.name}`);
  }
});

// How the library loads (src/load.ts): compiled with the V8 code cache the build wrote, or
// from source when V8 refuses the cache or it is missing; in each case the same library.
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const loadAndRun = (index) => `
  const fj = await import(${JSON.stringify(pathToFileURL(index).href)});
  const { createRequire } = await import('node:module');
  const pool = new fj.ThreadPool({ workers: 1 });
  const answer = await pool.run((x) => x * 2, [21]);
  await pool.close();
  const use = createRequire(${JSON.stringify(index)})('./load.cjs').codeCacheUse();
  let where = null;
  try { new fj.ThreadPool({ workerz: 1 }); } catch (error) { where = / \\((.*)[\\/]lib[\\/]forkjoin\\.js:/.exec(error.stack)?.[1] ?? error.stack; }
  console.log(JSON.stringify({ answer, use, where }));
`;

test('import \'forkjoin\' compiles the library with the code cache the build wrote', async () => {
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', loadAndRun(join(dist, 'index.js'))]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { answer: 42, use: { forkjoin: true }, where: dist.replace(/[\\/]$/, '') });
});

test('under V8 flags the cache was not made for, V8 refuses it and the library compiles from source', async () => {
  const { code, stdout, stderr } = await runNode(['--max-old-space-size=3000', '--input-type=module', '-e', loadAndRun(join(dist, 'index.js'))]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { answer: 42, use: { forkjoin: false }, where: dist.replace(/[\\/]$/, '') });
});

/** A copy of the built package in a temporary directory, with or without the code caches made here. */
function copyPackage(t, { caches }) {
  const root = tempDir(t);
  const copy = join(root, 'dist');
  cpSync(dist, copy, { recursive: true, filter: (source) => caches || !source.endsWith('.cache') });
  cpSync(new URL('../package.json', import.meta.url), join(root, 'package.json'));
  return copy;
}

async function importIn(copy) {
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', loadAndRun(join(copy, 'index.js'))]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

test('without its code cache files the library compiles from source, and the first import writes them', async (t) => {
  const copy = copyPackage(t, { caches: false });
  assert.deepEqual(await importIn(copy), { answer: 42, use: { forkjoin: false }, where: copy });
  assert.deepEqual(await importIn(copy), { answer: 42, use: { forkjoin: true }, where: copy });
});

test('a copy elsewhere does not use the caches made here (they would name these files in its stack traces)', async (t) => {
  const copy = copyPackage(t, { caches: true });
  assert.deepEqual(await importIn(copy), { answer: 42, use: { forkjoin: false }, where: copy });
  assert.deepEqual(await importIn(copy), { answer: 42, use: { forkjoin: true }, where: copy });
});

test('after an edit of the library, even one that keeps its length, the cache made before is not used', async (t) => {
  const copy = copyPackage(t, { caches: false });
  await importIn(copy); // writes the cache for the library as built
  const file = join(copy, 'lib', 'forkjoin.js');
  const source = readFileSync(file, 'utf8');
  const edited = source.replace('unknown option', 'UNKNOWN OPTION');
  assert.notEqual(edited, source, 'the message to edit is in the library');
  writeFileSync(file, edited);
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', `
    const fj = await import(${JSON.stringify(pathToFileURL(join(copy, 'index.js')).href)});
    try { new fj.ThreadPool({ workerz: 1 }); } catch (error) { console.log(error.message); }
  `]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /UNKNOWN OPTION/);
});
