// rerunLocally(error): the task that threw runs again in this thread, with its arguments.
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { describe, test } from 'node:test';
import { compute, delayed, rerunLocally } from 'forkjoin';
import { Executors, endless, tasks, using } from './fixtures/helpers.js';

const T = { timeout: 60_000 };
const here = `${process.pid}:${threadId}`;

/** Runs `body` with globalThis.fjAllowed false, then true while `after` runs: the task fails where it ran, and passes here. */
async function failThenAllow(body, after) {
  globalThis.fjAllowed = false;
  let error;
  try {
    error = await body();
  } finally {
    globalThis.fjAllowed = true;
  }
  try {
    return await after(error);
  } finally {
    delete globalThis.fjAllowed;
  }
}

for (const E of Executors) {
  describe(`rerunLocally on a ${E.name}`, () => {
    test('run: the task\'s own error, thrown here with its stack in the task module', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const failed = await ex.run(tasks.fail, ['bad input']).catch((e) => e);
      assert.equal(failed.code, 'FJ_TASK_FAILED');
      await assert.rejects(rerunLocally(failed), (err) => {
        assert.ok(err instanceof RangeError, String(err));
        assert.equal(err.message, 'bad input');
        assert.equal(err.code, 'E_CUSTOM');
        assert.match(err.stack.split('\n')[1], /fixtures\/tasks\.js/);
        return true;
      });
      // On a pool the cause is the task's error revived here, a fresh object: it leads to the same call. On a
      // LocalExecutor it is the task's own object, which the task may throw for other calls: refused.
      if (E.isPool) await assert.rejects(rerunLocally(failed.cause), { message: 'bad input' });
      else await assert.rejects(rerunLocally(failed.cause), { code: 'FJ_INVALID_ARG_VALUE' });
    });

    test('run and submit: the same arguments, in this thread', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const again = await failThenAllow(() => ex.run(tasks.refusedUnlessAllowed, [2, 3]).catch((e) => e), rerunLocally);
      assert.deepEqual(again, { sum: 5, where: here });
      const job = await failThenAllow(() => ex.submit(tasks.refusedUnlessAllowed, [4]).catch((e) => e), rerunLocally);
      assert.deepEqual(job, { sum: 4, where: here });
    });

    test('an inline function: the function itself runs here', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const failed = await ex.run((x) => { if (globalThis.fjInline !== x) throw new Error(`not ${x}`); return x * 2; }, [21]).catch((e) => e);
      assert.equal(failed.code, 'FJ_TASK_FAILED');
      globalThis.fjInline = 21;
      try {
        assert.equal(await rerunLocally(failed), 42);
      } finally {
        delete globalThis.fjInline;
      }
    });

    test('map and starmap: the input that failed, named by index', T, async (t) => {
      const ex = using(t, E.make({ slots: 2 }));
      const mapped = await failThenAllow(
        () => ex.map(tasks.squareEven, [2, 4, 5, 6], { chunksize: 2 }).catch((e) => e),
        async (error) => ({ error, again: await rerunLocally(error).catch((e) => e) }),
      );
      assert.equal(mapped.error.index, 2);
      assert.match(mapped.again.message, /5/);
      const settled = await failThenAllow(
        () => ex.starmap(tasks.refusedUnlessAllowed, [[1, 1], [2, 2], [3, 3]], { settle: true }),
        (results) => Promise.all(results.map((r) => rerunLocally(r.reason))),
      );
      assert.deepEqual(settled.map((r) => r.sum), [2, 4, 6]);
    });

    test('a buffer passed (not transferred) is re-run whole, as it is now; a transfer() result comes unwrapped', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const floats = new Float64Array(3);
      const again = await failThenAllow(() => ex.run(tasks.lengthUnlessAllowed, [floats]).catch((e) => e), rerunLocally);
      assert.equal(again, 3);
      const moved = await failThenAllow(() => ex.run(tasks.transferUnlessAllowed, [5]).catch((e) => e), rerunLocally);
      assert.ok(moved instanceof Uint8Array, String(moved));
      assert.equal(moved.length, 5);
    });

    test('a graph node whose task threw a string, and one whose task threw an object it throws for every call', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const text = await compute(delayed(tasks.throwText)(delayed(tasks.add)(1, 1)), { executor: ex }).catch((e) => e);
      assert.equal(text.code, 'FJ_GRAPH_NODE_FAILED');
      await assert.rejects(rerunLocally(text), (thrown) => thrown === 'text 2');
      const failures = await failThenAllow(async () => {
        const first = await ex.run(tasks.throwShared, ['first']).catch((e) => e);
        const second = await compute(delayed(tasks.throwShared)('second'), { executor: ex }).catch((e) => e);
        return [first, second];
      }, (errors) => Promise.all(errors.map((e) => rerunLocally(e))));
      assert.deepEqual(failures, ['first', 'second']);
    });

    test('a task graph\'s failure: through the GraphError\'s cause', T, async (t) => {
      const ex = using(t, E.make({ slots: 1 }));
      const node = delayed(tasks.refusedUnlessAllowed)(delayed(tasks.add)(1, 2), 10);
      const again = await failThenAllow(() => compute(node, { executor: ex }).catch((e) => e), async (error) => {
        assert.equal(error.code, 'FJ_GRAPH_NODE_FAILED');
        return rerunLocally(error);
      });
      assert.deepEqual(again, { sum: 13, where: here });
    });
  });
}

describe('rerunLocally refuses what it cannot run again', () => {
  test('an error that no task threw, a timeout, and what is not an error', T, async (t) => {
    const refused = (err) => {
      assert.equal(err.code, 'FJ_INVALID_ARG_VALUE');
      assert.match(err.message, /rerunLocally\(\)/);
      return true;
    };
    await assert.rejects(rerunLocally(new Error('mine')), refused);
    await assert.rejects(rerunLocally({ get cause() { throw new Error('a getter'); } }), refused);
    await assert.rejects(rerunLocally(new Proxy({}, { get() { throw new Error('a trap'); } })), refused);
    await assert.rejects(rerunLocally(undefined), refused);
    await assert.rejects(rerunLocally('text'), refused);
    const pool = using(t, Executors[0].make({ slots: 1 }));
    const timedOut = await pool.run(endless.forever, [], { timeout: 200 }).catch((e) => e);
    assert.equal(timedOut.code, 'FJ_TASK_TIMEOUT');
    await assert.rejects(rerunLocally(timedOut), refused);
  });
});
