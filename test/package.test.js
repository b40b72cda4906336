// The package as a user imports it: what the built output keeps of the source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as forkjoin from 'forkjoin';

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
