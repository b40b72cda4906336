// The types of delayed, compute, memoize and the caches, checked by the TypeScript compiler:
// every @ts-expect-error in test/fixtures/graph/types.ts must be an error, the rest must compile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const project = fileURLToPath(new URL('./fixtures/graph/tsconfig.json', import.meta.url));

test('typed graphs: Delayed<T> arguments, compute results, memoized signatures', { timeout: 120_000 }, () => {
  const result = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
