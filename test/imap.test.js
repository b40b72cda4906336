// imap's bounds and its place in close(), proven the same way on every executor:
// a slow consumer bounds what is pulled, close() finishes an imap whose
// consumer stopped reading (or never started), and a map waiting for an input
// that never comes still stops.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Executors, filesAppear, settleWithin, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';
import { touch } from './fixtures/sleep.js';

const T = { timeout: 120_000 };
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** An endless async generator of 0, 1, 2, … that counts what was pulled and notes when it is closed. */
function counted(limit = Number.POSITIVE_INFINITY) {
  const state = { pulled: 0, closed: false };
  state.inputs = (async function* naturals() {
    try {
      for (let i = 0; i < limit; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  })();
  return state;
}

/**
 * An async input that yields `items`, then waits forever for the next one (`stalled` resolves
 * once it does); notes when return() is called. With `rejects`, that wait and return() reject
 * after the map stopped waiting (`rejectLater()`).
 */
function stalled(items, { rejects = false } = {}) {
  const state = { returned: false };
  let at = 0;
  let reached;
  let fail = null;
  state.stalled = new Promise((resolve) => { reached = resolve; });
  state.rejectLater = () => fail?.(new Error('the input failed after the map stopped'));
  state.inputs = {
    [Symbol.asyncIterator]() { return this; },
    next() {
      if (at < items.length) return Promise.resolve({ value: items[at++], done: false });
      reached();
      return new Promise((_, reject) => { if (rejects) fail = reject; });
    },
    return() {
      state.returned = true;
      return rejects ? Promise.reject(new Error('the input failed to clean up')) : Promise.resolve({ value: undefined, done: true });
    },
  };
  return state;
}

/** A map that `start(exec, inputs)` began over an input stuck after `items`, once it is stuck there. */
async function stuckMap(t, E, items, start) {
  const exec = using(t, E.make());
  const state = stalled(items);
  const mapped = start(exec, state.inputs);
  mapped.catch(() => {});
  await state.stalled;
  return { exec, state, mapped };
}

/** Waits until the executor has nothing to run and the map pulled nothing more over a few turns: it waits on its consumer. */
async function untilStalled(exec, state) {
  for (let still = 0; still < 3;) {
    const before = state.pulled;
    await exec.onIdle();
    for (let i = 0; i < 5; i++) await turn();
    still = state.pulled === before && exec.stats().queued === 0 && exec.stats().running === 0 ? still + 1 : 0;
  }
}

/** Yields `n` rendezvous inputs that wait for `release`, then creates it and throws `error`: the inputs pulled are still running. */
function* throwsAfter(n, release, error) {
  for (let i = 0; i < n; i++) yield { wait: release, value: i };
  touch(release);
  throw error;
}

async function drain(iterator) {
  const out = [];
  for (;;) {
    const step = await iterator.next();
    if (step.done) return out;
    out.push(step.value);
  }
}

for (const E of Executors) {
  describe(`${E.name} imap`, () => {
    test("with chunksize 'auto', a consumer that stops reading stops the pulling within a bound that does not grow with task speed", T, async (t) => {
      const exec = using(t, E.make());
      const state = counted();
      const it = exec.imap(tasks.square, state.inputs);
      assert.deepEqual(await it.next(), { value: 0, done: false });
      await untilStalled(exec, state);
      // Two workers: a few chunks of at most a few hundred tiny inputs each; never thousands.
      assert.ok(state.pulled <= 4_096, `pulled ${state.pulled} inputs while the consumer had taken 1 result`);
      await it.return();
      assert.ok(state.closed);
    });

    for (const ordered of [true, false]) {
      test(`an imap (ordered: ${ordered}) whose input throws yields the result of every input pulled before it threw, then its error; they count as done`, T, async (t) => {
        const exec = using(t, E.make());
        const release = join(tempDir(t), 'release');
        const failure = new Error('the inputs failed');
        const got = [];
        await assert.rejects(async () => {
          for await (const value of exec.imap(sleepy.rendezvous, throwsAfter(3, release, failure), { ordered })) got.push(value);
        }, (err) => err === failure);
        assert.deepEqual(ordered ? got : got.sort(), [0, 1, 2]);
        await exec.onIdle();
        assert.equal(exec.stats().done, 3);
      });
    }

    test('a map whose input throws rejects with its error, with settle too (the input source failing is no input\'s outcome)', T, async (t) => {
      const exec = using(t, E.make());
      const failure = new Error('the inputs failed');
      const release = join(tempDir(t), 'release');
      await assert.rejects(exec.map(sleepy.rendezvous, throwsAfter(3, release, failure), { settle: true }), (err) => err === failure);
    });

    test('a consumer that takes a result and then leaves (return(), a break) starts nothing more: no input is pulled or run after it', T, async (t) => {
      const exec = using(t, E.make());
      const log = join(tempDir(t), 'runs');
      const state = { pulled: 0 };
      state.inputs = (function* numbered() {
        for (let i = 0; i < 100; i++) {
          state.pulled++;
          yield { file: log, value: i };
        }
      })();
      const runs = () => readFileSync(log, 'utf8').trim().split('\n').length;
      const it = exec.imap(tasks.noteInput, state.inputs, { chunksize: 1 });
      assert.deepEqual(await it.next(), { value: 0, done: false });
      // Everything pulled has run; the imap waits for its consumer to make room.
      await untilStalled(exec, state);
      const pulled = state.pulled;
      assert.equal(runs(), pulled);
      assert.deepEqual(await it.next(), { value: 1, done: false });
      await it.return();
      await untilStalled(exec, state);
      assert.deepEqual([state.pulled, runs()], [pulled, pulled]);
    });

    for (const waitWith of ['onIdle', 'close']) {
      test(`inputs still running when the consumer breaks out run to their end, and ${waitWith}() waits for them`, T, async (t) => {
        // One worker that runs two async tasks at once: inputs 1 and 2 run together, whichever worker starts first.
        const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
        const dir = tempDir(t);
        const flag = join(dir, 'flag');
        const gated = (i) => ({ marker: join(dir, `started-${i}`), flag, out: join(dir, `out-${i}`), value: i });
        for await (const value of exec.imap(sleepy.markWaitLeave, [{ value: 0 }, gated(1), gated(2)], { chunksize: 1 })) {
          assert.equal(value, 0);
          await filesAppear(dir, 2, (name) => name.startsWith('started-'));
          break;
        }
        assert.equal(exec.stats().running, 2, 'stats() counts the inputs still running');
        writeFileSync(flag, '');
        await (waitWith === 'onIdle' ? exec.onIdle() : exec.close());
        assert.deepEqual([1, 2].map((i) => existsSync(join(dir, `out-${i}`))), [true, true], 'both ran to their end');
        assert.equal(exec.stats().running, 0);
      });
    }

    test('terminate() ends a close() that waits for inputs left running after a break', T, async (t) => {
      const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
      const dir = tempDir(t);
      const stuck = { marker: join(dir, 'started'), flag: join(dir, 'never'), out: join(dir, 'out'), value: 1 };
      for await (const value of exec.imap(sleepy.markWaitLeave, [{ value: 0 }, stuck], { chunksize: 1 })) {
        assert.equal(value, 0);
        await filesAppear(dir, 1);
        break;
      }
      const closing = exec.close();
      await exec.terminate();
      await settleWithin(closing, 60_000, 'close() after terminate()');
      await settleWithin(exec.onIdle(), 60_000, 'onIdle() after terminate()');
    });

    test('close() finishes an imap whose iterator was started and then abandoned, and its results wait for the consumer', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted(20_000);
      const it = exec.imap(tasks.square, state.inputs, { chunksize: 10 });
      assert.deepEqual(await it.next(), { value: 0, done: false });
      await settleWithin(exec.close(), 60_000, 'close() with an abandoned imap');
      const rest = await drain(it);
      assert.equal(rest.length, 19_999);
      assert.equal(rest[19_998], 19_999 * 19_999);
    });

    test('an imap created before close() and iterated after it yields every result (it = imap(); close(); for await)', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted(500);
      const it = exec.imap(tasks.square, state.inputs);
      const closed = exec.close();
      const out = [];
      for await (const value of it) out.push(value);
      await settleWithin(closed, 60_000, 'close()');
      assert.deepEqual(out, Array.from({ length: 500 }, (_, i) => i * i));
    });

    test('close() finishes an imap that was never iterated; its results wait for a consumer', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted(3_000);
      const it = exec.imap(tasks.square, state.inputs, { chunksize: 10 });
      await settleWithin(exec.close(), 60_000, 'close() with a never-iterated imap');
      assert.equal(state.pulled, 3_000);
      const out = await drain(it);
      assert.equal(out.length, 3_000);
      assert.equal(out[2_999], 2_999 * 2_999);
    });

    test('close() with an abandoned imap over an endless input fails it with FJ_EXECUTOR_CLOSED past its run-ahead cap, and closes the input', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted();
      const it = exec.imap(tasks.square, state.inputs);
      assert.deepEqual(await it.next(), { value: 0, done: false });
      await settleWithin(exec.close(), 90_000, 'close() with an abandoned endless imap');
      assert.ok(state.closed, 'the input was closed');
      let taken = 1;
      await assert.rejects(async () => {
        for (;;) {
          const step = await it.next();
          assert.equal(step.done, false);
          assert.equal(step.value, taken * taken);
          taken++;
        }
      }, code('FJ_EXECUTOR_CLOSED'));
      assert.ok(taken >= 65_536, `the consumer got the ${taken} buffered results before the error`);
    });

    test('a consumer still reading while close() runs gets every result, past the run-ahead cap', T, async (t) => {
      const exec = using(t, E.make());
      const count = 100_000;
      let closing = null;
      let taken = 0;
      for await (const value of exec.imap(tasks.square, Array.from({ length: count }, (_, i) => i))) {
        assert.equal(value, taken * taken);
        taken++;
        if (taken === 100) closing = exec.close();
        if (taken % 500 === 0) await turn();
      }
      assert.equal(taken, count);
      await closing;
    });

    test('close({ cancelPending: true }) cancels an imap that was never iterated: none of its inputs run, and iterating it fails with FJ_EXECUTOR_CLOSED', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted(100);
      const it = exec.imap(tasks.square, state.inputs);
      await settleWithin(exec.close({ cancelPending: true }), 60_000, 'close({ cancelPending }) with a never-iterated imap');
      await assert.rejects(drain(it), code('FJ_EXECUTOR_CLOSED'));
      assert.equal(state.pulled, 0);
      assert.equal(exec.stats().done, 0);
    });

    test('close({ cancelPending: true }) stops an imap waiting for its consumer: it pulls nothing more, and yields what it holds before FJ_EXECUTOR_CLOSED', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted();
      const it = exec.imap(tasks.square, state.inputs, { chunksize: 10 });
      assert.deepEqual(await it.next(), { value: 0, done: false });
      await untilStalled(exec, state);
      const pulled = state.pulled;
      await settleWithin(exec.close({ cancelPending: true }), 60_000, 'close({ cancelPending }) with a paused imap');
      assert.equal(state.pulled, pulled, 'no input was pulled after close()');
      assert.ok(state.closed, 'the input was closed');
      let taken = 1;
      await assert.rejects(async () => {
        for (;;) {
          const step = await it.next();
          assert.equal(step.value, taken * taken);
          taken++;
        }
      }, code('FJ_EXECUTOR_CLOSED'));
      assert.equal(taken, pulled, 'every result computed before close() was yielded');
    });

    for (const [kind, make] of [['an array', (xs) => xs], ['a Set', (xs) => new Set(xs)]]) {
      test(`close({ cancelPending: true }) resolves when an imap over ${kind} has pulled every input and its consumer stopped reading; the results stay readable`, T, async (t) => {
        const exec = using(t, E.make());
        // Nine inputs of one each: the imap's read-ahead reaches the last one exactly and stops there.
        const inputs = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        const it = exec.imap(tasks.square, make(inputs), { chunksize: 1 });
        assert.deepEqual(await it.next(), { value: 1, done: false });
        while (exec.stats().done < inputs.length) await new Promise((resolve) => setTimeout(resolve, 5));
        await settleWithin(exec.close({ cancelPending: true }), 60_000, 'close({ cancelPending }) with an imap whose inputs all ran');
        assert.deepEqual(await drain(it), inputs.slice(1).map((x) => x * x));
      });
    }

    test('close({ cancelPending: true }) fails a map waiting for its next input with FJ_EXECUTOR_CLOSED; its later inputs never run', T, async (t) => {
      const exec = using(t, E.make());
      let atGate;
      let release;
      const reached = new Promise((resolve) => { atGate = resolve; });
      const gate = new Promise((resolve) => { release = resolve; });
      async function* inputs() {
        yield 1;
        yield 2;
        atGate();
        await gate;
        yield 3;
        yield 4;
      }
      const mapped = exec.map(tasks.square, inputs(), { chunksize: 1 });
      mapped.catch(() => {});
      await reached;
      await exec.onIdle();
      const closing = exec.close({ cancelPending: true });
      release();
      await assert.rejects(mapped, code('FJ_EXECUTOR_CLOSED'));
      await settleWithin(closing, 60_000, 'close({ cancelPending })');
      assert.equal(exec.stats().done, 2);
    });

    test('an imap given back with return() after close() began, before its first next(), stops pulling', T, async (t) => {
      const exec = using(t, E.make());
      const state = counted();
      const it = exec.imap(tasks.square, state.inputs);
      const closing = exec.close();
      assert.deepEqual(await it.return(), { value: undefined, done: true });
      await settleWithin(closing, 60_000, 'close() after the imap was given back');
      assert.ok(state.pulled < 65_536, `${state.pulled} inputs pulled`);
    });

    test("an aborted signal rejects a map waiting for an input that never comes with FJ_ABORTED, and calls the input's return()", T, async (t) => {
      const controller = new AbortController();
      const { exec, state, mapped } = await stuckMap(t, E, [1, 2], (e, inputs) => e.map(tasks.square, inputs, { chunksize: 1, signal: controller.signal }));
      await exec.onIdle();
      controller.abort();
      await assert.rejects(settleWithin(mapped, 60_000, 'the aborted map'), code('FJ_ABORTED'));
      assert.ok(state.returned, "the input's return() was called");
    });

    test("close({ cancelPending: true }) resolves and fails a starmap waiting for an input that never comes with FJ_EXECUTOR_CLOSED, calling the input's return()", T, async (t) => {
      const { exec, state, mapped } = await stuckMap(t, E, [[1, 2], [3, 4]], (e, inputs) => e.starmap(tasks.add, inputs, { chunksize: 1 }));
      await exec.onIdle();
      await settleWithin(exec.close({ cancelPending: true }), 60_000, 'close({ cancelPending }) with a stalled map');
      await assert.rejects(settleWithin(mapped, 60_000, 'the cancelled map'), code('FJ_EXECUTOR_CLOSED'));
      assert.ok(state.returned, "the input's return() was called");
    });

    test("terminate() fails a map waiting for an input that never comes with FJ_EXECUTOR_TERMINATED, and calls the input's return()", T, async (t) => {
      const { exec, state, mapped } = await stuckMap(t, E, [1, 2], (e, inputs) => e.map(tasks.square, inputs, { chunksize: 1 }));
      await exec.onIdle();
      await settleWithin(exec.terminate(), 60_000, 'terminate() with a stalled map');
      await assert.rejects(settleWithin(mapped, 60_000, 'the map of a terminated executor'), code('FJ_EXECUTOR_TERMINATED'));
      assert.ok(state.returned, "the input's return() was called");
    });

    test('terminate() during a close() that waits for a map whose input never comes ends both: the map fails with FJ_EXECUTOR_TERMINATED, close() resolves', T, async (t) => {
      const { exec, mapped } = await stuckMap(t, E, [1, 2], (e, inputs) => e.map(tasks.square, inputs, { chunksize: 1 }));
      const closing = exec.close();
      await settleWithin(exec.terminate(), 60_000, 'terminate() during close()');
      await assert.rejects(settleWithin(mapped, 60_000, 'the map of a terminated executor'), code('FJ_EXECUTOR_TERMINATED'));
      await settleWithin(closing, 60_000, 'close() ended by terminate()');
    });

    test("return() (a loop's break) of an imap whose input never comes resolves and calls the input's return(); their late rejections are handled", T, async (t) => {
      const exec = using(t, E.make());
      const unhandled = [];
      const onUnhandled = (reason) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      t.after(() => process.off('unhandledRejection', onUnhandled));
      const state = stalled([1, 2], { rejects: true });
      const it = exec.imap(tasks.square, state.inputs, { chunksize: 1 });
      assert.deepEqual(await it.next(), { value: 1, done: false });
      assert.deepEqual(await it.next(), { value: 4, done: false });
      await state.stalled;
      assert.deepEqual(await settleWithin(it.return(), 60_000, "the imap's return()"), { value: undefined, done: true });
      assert.ok(state.returned, "the input's return() was called");
      state.rejectLater();
      for (let i = 0; i < 5; i++) await turn();
      assert.deepEqual(unhandled, []);
    });
  });
}
