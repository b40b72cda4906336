// Task modules written in TypeScript, when the caller runs under tsx.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PoolKinds, runNode } from './fixtures/helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = fileURLToPath(new URL('./fixtures/ts/main.ts', import.meta.url));

for (const E of PoolKinds) {
  test(`${E.name} runs tasks from a TypeScript module when the caller runs under tsx`, { timeout: 120_000 }, async () => {
    const result = await runNode(['--import', 'tsx', main, E.name], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1));
    assert.equal(out.norm, 25);
    assert.equal(out.text, 'widget x2');
    assert.deepEqual(out.mapped, [2, 4]);
    assert.equal(out.inline, 40, 'a typed inline function runs too');
    assert.notEqual(out.where, out.main, 'the task ran in a worker, not in the caller');
  });
}
