// Task modules written in TypeScript, when the caller runs under tsx.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { PoolKinds, runNode } from './fixtures/helpers.js';
import { needRedis } from './fixtures/cluster/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = fileURLToPath(new URL('./fixtures/ts/main.ts', import.meta.url));

for (const name of [...PoolKinds.map((E) => E.name), 'Cluster']) {
  test(`${name} runs tasks from a TypeScript module when the caller runs under tsx`, { timeout: 120_000 }, async (t) => {
    if (name === 'Cluster' && !needRedis(t)) return; // Cluster.local's engines inherit the caller's loader
    const result = await runNode(['--import', 'tsx', main, name], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1));
    assert.equal(out.norm, 25);
    assert.equal(out.text, 'widget x2');
    assert.deepEqual(out.mapped, [2, 4]);
    assert.equal(out.inline, 40, 'a typed inline function runs too');
    assert.notEqual(out.where, out.main, 'the task ran in a worker, not in the caller');
  });
}
