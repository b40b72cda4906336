// Values that broke a call or the caller: an argument array reused for the next call, results
// whose `then` cannot be read, transfer() without a list, keys of arguments nested past the stack.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { transfer } from 'forkjoin';
import { Executors, PoolKinds, runNode, tasks, using } from './fixtures/helpers.js';

const T = { timeout: 60_000 };

for (const E of Executors) {
  describe(`${E.name}: values that used to break things`, () => {
    test('an argument array reused for the next call: each call gets the values it was made with', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      await ex.run(tasks.add, [0, 0]); // warm: calls go out in one burst below
      const args = [0, 10];
      const pending = [];
      for (const x of [1, 2, 3]) {
        args[0] = x;
        pending.push(ex.run(tasks.add, args));
      }
      const objects = [{ n: 0 }];
      const more = [];
      for (const n of [4, 5]) {
        objects[0] = { n };
        more.push(ex.run(tasks.identity, objects));
      }
      assert.deepEqual(await Promise.all(pending), [11, 12, 13]);
      assert.deepEqual(await Promise.all(more), [{ n: 4 }, { n: 5 }]);
    });

    test('an argument list that is an Array subclass is read as a list: its constructor is never called', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      let made = 0;
      class Args extends Array {
        constructor(...items) {
          super(...items);
          made++;
        }
      }
      const args = Args.from([1, 2]);
      made = 0;
      assert.equal(await ex.run(tasks.add, args), 3);
      assert.equal(made, 0);
      const guarded = [3, 4];
      Object.defineProperty(guarded, 'constructor', { get() { throw new Error('constructor getter'); } });
      assert.equal(await ex.run(tasks.add, guarded), 7);
    });

    test('inputs whose [Symbol.iterator]() gives no iterator (null, an object without next) fail the map with FJ_INVALID_ARG_TYPE', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      for (const iterator of [() => null, () => ({}), () => 5]) {
        await assert.rejects(ex.map(tasks.square, { [Symbol.iterator]: iterator }), (err) => {
          assert.equal(err.code, 'FJ_INVALID_ARG_TYPE');
          assert.match(err.message, /must return an iterator/);
          return true;
        });
      }
      await assert.rejects(ex.map(tasks.square, { [Symbol.asyncIterator]: () => null }), { code: 'FJ_INVALID_ARG_TYPE' });
    });
  });
}

for (const E of PoolKinds) {
  describe(`${E.name}: results a worker cannot look at`, () => {
    test('a result whose then getter throws, or a Proxy whose trap throws, fails the task (FJ_TASK_FAILED); the worker lives on', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.thenGetterThrows, []), (err) => {
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.cause.message, 'then getter');
        return true;
      });
      await assert.rejects(pool.run(tasks.hostileProxy, []), (err) => {
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.cause.message, 'trap get');
        return true;
      });
      // Looked at by the worker (a thread: is it a buffer to move?) or only by sending it (a child): either way, the call fails.
      await assert.rejects(pool.run(tasks.prototypeTrapThrows, []), (err) => (err.code === 'FJ_TASK_FAILED' && err.cause.message === 'trap getPrototypeOf') || err.code === 'FJ_RESULT_NOT_CLONEABLE');
      await assert.rejects(pool.run(tasks.promiseWithHostileConstructor, []), (err) => err.code === 'FJ_TASK_FAILED' && err.cause.message === 'constructor getter');
      await assert.rejects(pool.run(tasks.ownKeysTrapThrows, []), { code: 'FJ_RESULT_NOT_CLONEABLE' });
      assert.equal(await pool.run(tasks.square, [3]), 9);
      assert.equal(pool.stats().workersReplaced, 0);
    });

    test('transfer() without a list fails the task with FJ_INVALID_ARG_TYPE as its cause; the worker lives on', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      await assert.rejects(pool.run(tasks.transferWithoutList, [], { retries: 2 }), (err) => {
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.cause.code, 'FJ_INVALID_ARG_TYPE');
        assert.match(err.cause.message, /transfer\(value, list\)/);
        return true;
      });
      assert.equal(pool.stats().workersReplaced, 0);
    });

    test('transfer() takes a Set for its list', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      assert.deepEqual([...await pool.run(tasks.transferWithSet, [])], [9, 9, 9, 9]);
    });
  });
}

describe('transfer() itself', () => {
  test('a list that is not an array is refused with FJ_INVALID_ARG_TYPE', () => {
    const bytes = new Uint8Array(2);
    for (const list of [undefined, null, 'x', bytes.buffer]) {
      assert.throws(() => transfer(bytes, list), { code: 'FJ_INVALID_ARG_TYPE' });
    }
    assert.doesNotThrow(() => transfer(bytes, [bytes.buffer]));
  });
});

describe('keys of arguments nested past the stack', () => {
  test('after a getter that throws was keyed on, memoize computes and delayed() refuses: the process does not abort', T, async () => {
    const script = fileURLToPath(new URL('./fixtures/deep-keys.js', import.meta.url));
    for (const depth of [3_000, 10_000, 200_000]) {
      const result = await runNode(['--stack-size=984', script, String(depth)]);
      assert.equal(result.code, 0, `depth ${depth}: ${result.stderr.slice(0, 400)}`);
      assert.match(result.stdout, /^memoize computed$/m, `depth ${depth}`);
      assert.match(result.stdout, /^delayed (accepted|FJ_ARG_NOT_CLONEABLE args)$/m, `depth ${depth}: ${result.stdout}`);
    }
  });
});
