// The package as a user imports it: what the built output keeps of the source.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
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
  console.log(JSON.stringify({ answer, use }));
`;

test('import \'forkjoin\' compiles the library with the code cache the build wrote', async () => {
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', loadAndRun(join(dist, 'index.js'))]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { answer: 42, use: { forkjoin: true } });
});

test('under V8 flags the cache was not made for, V8 refuses it and the library compiles from source', async () => {
  const { code, stdout, stderr } = await runNode(['--max-old-space-size=3000', '--input-type=module', '-e', loadAndRun(join(dist, 'index.js'))]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { answer: 42, use: { forkjoin: false } });
});

test('without its code cache files the library compiles from source', async (t) => {
  const root = tempDir(t);
  const copy = join(root, 'dist');
  cpSync(dist, copy, { recursive: true, filter: (source) => !source.endsWith('.cache') });
  cpSync(new URL('../package.json', import.meta.url), join(root, 'package.json'));
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', loadAndRun(join(copy, 'index.js'))]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { answer: 42, use: { forkjoin: false } });
});
