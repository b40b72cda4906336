// The Executor interface, proven the same way on ThreadPool, ProcessPool and LocalExecutor.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Job, isForkJoinError } from 'forkjoin';
import { Executors, filesAppear, occupy, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';
import { touch } from './fixtures/sleep.js';

const T = { timeout: 60_000 };

/** Iterates an ordered imap of sleepy.rendezvous until it throws: what it yielded, and the error (it must throw). */
async function imapUntilError(exec, inputs, chunksize) {
  const out = [];
  try {
    for await (const value of exec.imap(sleepy.rendezvous, inputs, { chunksize })) out.push(value);
  } catch (err) {
    return { out, err };
  }
  assert.fail(`the imap ended without an error, after ${JSON.stringify(out)}`);
}
const squares = (n) => Array.from({ length: n }, (_, i) => i * i);
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};

for (const E of Executors) {
  describe(`${E.name}: one terminate(), many calls`, () => {
    /** A warmed executor with one slot, held by a call that never ends, and `n` quick calls behind it. */
    async function heldThenTerminated(t, n) {
      const exec = using(t, E.make({ slots: 1 }));
      const dir = tempDir(t);
      for (const value of [1, 2]) await exec.run(sleepy.markWaitLeave, [{ value }]); // known as quick: sent ahead
      const blocker = { marker: join(dir, 'started'), flag: join(dir, 'never'), out: join(dir, 'out'), value: 0 };
      return { exec, dir, blocker, quick: Array.from({ length: n }, (_, i) => ({ value: i + 1 })) };
    }

    test('each map input failed by terminate() names its own index; a run() failed with them names none', T, async (t) => {
      const { exec, dir, blocker, quick } = await heldThenTerminated(t, 3);
      const settled = exec.map(sleepy.markWaitLeave, [blocker, ...quick], { chunksize: 1, settle: true });
      const lone = exec.run(tasks.square, [2]).then(() => null, (error) => error);
      await filesAppear(dir, 1);
      await exec.terminate();
      const outcomes = await settled;
      assert.deepEqual(outcomes.map((o) => [o.status, o.reason?.code, o.reason?.index]), [0, 1, 2, 3].map((i) => ['rejected', 'FJ_EXECUTOR_TERMINATED', i]));
      const loneError = await lone;
      assert.equal(loneError.code, 'FJ_EXECUTOR_TERMINATED');
      assert.equal(loneError.index, undefined);
    });

    test('terminate() counts calls it dropped before they started as neither done nor failed, as their jobs say', T, async (t) => {
      const { exec, dir, blocker, quick } = await heldThenTerminated(t, 4);
      const before = exec.stats();
      const jobs = [blocker, ...quick].map((input) => exec.submit(sleepy.markWaitLeave, [input]));
      await filesAppear(dir, 1);
      await exec.terminate();
      await Promise.allSettled(jobs);
      assert.deepEqual(jobs.map((job) => job.state), ['rejected', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
      const after = exec.stats();
      assert.deepEqual([after.done - before.done, after.failed - before.failed], [0, 1]);
    });

    test("a map's timeout and a missing export name the map's task, as a run()'s errors do", T, async (t) => {
      // A LocalExecutor cannot stop the task that timed out: a second slot for the next map, and a task that ends.
      const exec = using(t, E.isPool ? new E.Ctor({ workers: 1, timeout: 50 }) : new E.Ctor({ concurrency: 2, timeout: 50 }));
      const timedOut = await exec.map(sleepy.hang, [E.isPool ? 60_000 : 2_000]).then(() => null, (error) => error);
      assert.deepEqual([timedOut.code, timedOut.task], ['FJ_TASK_TIMEOUT', 'sleep.js#hang']);
      const missing = await exec.map(sleepy.noSuchTask, [1]).then(() => null, (error) => error);
      assert.deepEqual([missing.code, missing.task], ['FJ_TASK_NOT_EXPORTED', 'sleep.js#noSuchTask']);
    });

    test("a map's timeout: Infinity lifts the executor's timeout, as a run()'s does", T, async (t) => {
      const exec = using(t, E.isPool ? new E.Ctor({ workers: 1, timeout: 50 }) : new E.Ctor({ concurrency: 1, timeout: 50 }));
      assert.equal(await exec.run(sleepy.hang, [300], { timeout: Infinity }), 'hang ended');
      assert.deepEqual(await exec.map(sleepy.hang, [300, 300], { timeout: Infinity }), ['hang ended', 'hang ended']);
      assert.deepEqual(await exec.imap(sleepy.hang, [300], { timeout: Infinity }).next(), { value: 'hang ended', done: false });
    });
  });

  describe(E.name, () => {
    describe('run and submit', () => {
      test('run resolves to the result of a task module export', T, async (t) => {
        const exec = using(t, E.make());
        assert.equal(await exec.run(tasks.square, [7]), 49);
        assert.equal(await exec.run(tasks.add, [2, 3]), 5);
      });

      test('run resolves to the result of a self-contained inline function', T, async (t) => {
        const exec = using(t, E.make());
        assert.equal(await exec.run((a, b) => a * b + 1, [6, 7]), 43);
      });

      test('run awaits an async task and resolves to its value', T, async (t) => {
        const exec = using(t, E.make());
        assert.deepEqual(await exec.run(tasks.sleep, [1, { ok: true }]), { ok: true });
      });

      test('submit returns a Job with a unique numeric id that resolves to the result', T, async (t) => {
        const exec = using(t, E.make());
        const a = exec.submit(tasks.square, [3]);
        const b = exec.submit(tasks.square, [4]);
        assert.ok(a instanceof Job);
        assert.equal(typeof a.id, 'number');
        assert.notEqual(a.id, b.id);
        assert.deepEqual([await a, await b], [9, 16]);
        assert.equal(a.state, 'fulfilled');
      });

      test('a Job reports state running while its task runs, then fulfilled', T, async (t) => {
        const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
        const dir = tempDir(t);
        const flag = join(dir, 'go');
        const first = exec.submit(sleepy.waitForFile, [flag, 'first']);
        const second = exec.submit(tasks.square, [5]);
        assert.ok(['queued', 'running'].includes(first.state));
        // Both run at once on the single worker; once the second is back, the first is known to run.
        assert.equal(await second, 25);
        assert.equal(first.state, 'running');
        touch(flag);
        assert.equal(await first, 'first');
        assert.equal(first.state, 'fulfilled');
      });

      test('a failed Job is in state rejected', T, async (t) => {
        const exec = using(t, E.make());
        const job = exec.submit(tasks.fail, ['no']);
        await assert.rejects(job, code('FJ_TASK_FAILED'));
        assert.equal(job.state, 'rejected');
      });

      test('job.cancel() on a queued Job rejects it with FJ_ABORTED and leaves the running one alone', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        const { job: busy } = await occupy(t, exec, tempDir(t));
        const job = exec.submit(tasks.square, [2]);
        assert.equal(job.state, 'queued');
        assert.equal(job.cancel(), true);
        assert.equal(job.state, 'cancelled');
        await assert.rejects(job, code('FJ_ABORTED'));
        assert.equal(job.cancel(), false, 'a finished job cannot be cancelled again');
        assert.equal(busy.state, 'running');
      });

      test('jobs that never started end "cancelled" when close({ cancelPending }) or terminate() drops them', T, async (t) => {
        for (const end of [(exec) => exec.close({ cancelPending: true }), (exec) => exec.terminate()]) {
          const exec = using(t, E.make({ slots: 1 }));
          const { release } = await occupy(t, exec, tempDir(t));
          const job = exec.submit(tasks.square, [2]);
          const ending = end(exec);
          await assert.rejects(job, (err) => ['FJ_EXECUTOR_CLOSED', 'FJ_EXECUTOR_TERMINATED'].includes(err.code));
          assert.equal(job.state, 'cancelled');
          release();
          await ending;
          const refused = exec.submit(tasks.square, [3]);
          await assert.rejects(refused, (err) => ['FJ_EXECUTOR_CLOSED', 'FJ_EXECUTOR_TERMINATED'].includes(err.code));
          assert.equal(refused.state, 'rejected', 'a job refused when submitted was never cancelled');
        }
      });

      test('an aborted signal removes a queued task at once with FJ_ABORTED', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        const { job: busy } = await occupy(t, exec, tempDir(t));
        const controller = new AbortController();
        const job = exec.submit(tasks.square, [2], { signal: controller.signal });
        assert.equal(job.state, 'queued');
        controller.abort();
        assert.equal(job.state, 'cancelled', 'removed synchronously, without waiting for the busy worker');
        await assert.rejects(job, code('FJ_ABORTED'));
        assert.equal(busy.state, 'running');
      });

      test('a task with an already aborted signal rejects with FJ_ABORTED', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.square, [2], { signal: AbortSignal.abort() }), code('FJ_ABORTED'));
      });
    });

    describe('map, starmap and imap', () => {
      test('map returns every result in input order', T, async (t) => {
        const exec = using(t, E.make());
        const inputs = Array.from({ length: 200 }, (_, i) => i);
        assert.deepEqual(await exec.map(tasks.square, inputs), squares(200));
      });

      test('map reads an array through its own iterator when it has one, and keeps holes as undefined', T, async (t) => {
        const exec = using(t, E.make());
        const patched = Array.from({ length: 50 }, (_, i) => i);
        patched[Symbol.iterator] = function* () { yield 7; yield 8; };
        assert.deepEqual(await exec.map(tasks.square, patched), [49, 64]);
        const holes = [1, , 3]; // eslint-disable-line no-sparse-arrays
        assert.deepEqual(await exec.map(tasks.identity, holes, { chunksize: 1 }), [1, undefined, 3]);
      });

      test('map, starmap and imap work under a small maxQueue: their chunks do not count against it', T, async (t) => {
        const exec = using(t, E.make({ maxQueue: 1 }));
        const inputs = Array.from({ length: 100 }, (_, i) => i);
        assert.deepEqual(await exec.map(tasks.square, inputs), squares(100));
        assert.deepEqual(await exec.starmap(tasks.add, inputs.map((i) => [i, 1])), inputs.map((i) => i + 1));
        const seen = [];
        for await (const v of exec.imap(tasks.square, new Set(inputs))) seen.push(v);
        assert.deepEqual(seen, squares(100));
      });

      test('map accepts an async iterable', T, async (t) => {
        const exec = using(t, E.make());
        async function* inputs() { for (let i = 0; i < 30; i++) yield i; }
        assert.deepEqual(await exec.map(tasks.square, inputs()), squares(30));
      });

      test('map refuses inputs that are not iterable with an InvalidTypeError naming the method', T, async (t) => {
        const exec = using(t, E.make());
        for (const inputs of [{ a: 1 }, 5, null, { [Symbol.iterator]: 5 }]) {
          await assert.rejects(exec.map(tasks.square, inputs), (err) => {
            assert.ok(err instanceof TypeError, `a TypeError for ${String(inputs)}`);
            assert.equal(err.code, 'FJ_INVALID_ARG_TYPE');
            assert.match(err.message, /\.map: inputs must be an iterable/);
            return true;
          });
        }
      });

      test('a "transfer" option holding a value that is no object fails with FJ_INVALID_ARG_TYPE naming its place', T, async (t) => {
        const exec = using(t, E.make());
        for (const [transfer, named] of [['x', /received string "x"/], [[5], /transfer\[0\] is number 5/], [[new ArrayBuffer(8), null], /transfer\[1\] is null/], [[new Uint8Array(4)], /transfer\[0\] is .*Uint8Array.*list its buffer/]]) {
          await assert.rejects(exec.run(tasks.square, [2], { transfer }), (err) => {
            assert.equal(err.code, 'FJ_INVALID_ARG_TYPE');
            assert.match(err.message, named);
            return true;
          });
        }
        assert.equal(await exec.run(tasks.square, [3]), 9);
      });

      test('a "progress" option that is neither a boolean nor a listener fails, saying both are accepted', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.map(tasks.square, [1], { progress: 5 }), (err) => err.code === 'FJ_INVALID_ARG_TYPE' && /true, false or a listener function/.test(err.message));
      });

      test('starmap refuses an input that is not an argument list with FJ_INVALID_ARG_TYPE naming it', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.starmap(tasks.add, [[1, 2], [3, 4], 5]), (err) => {
          assert.equal(err.code, 'FJ_INVALID_ARG_TYPE');
          assert.match(err.message, /inputs\[2\] is number 5/);
          return true;
        });
        assert.deepEqual(await exec.starmap(tasks.add, [[1, 2], new Set([3, 4])]), [3, 7]);
      });

      test("an iterator whose next() returns no result object fails the map and imap with FJ_INVALID_ARG_TYPE", T, async (t) => {
        const exec = using(t, E.make());
        const broken = { [Symbol.iterator]: () => ({ next: () => 5 }) };
        const brokenAsync = { [Symbol.asyncIterator]: () => ({ next: async () => null }) };
        await assert.rejects(exec.map(tasks.square, broken), code('FJ_INVALID_ARG_TYPE'));
        await assert.rejects(exec.map(tasks.square, brokenAsync), code('FJ_INVALID_ARG_TYPE'));
        await assert.rejects(async () => { for await (const _ of exec.imap(tasks.square, broken)) { /* nothing arrives */ } }, code('FJ_INVALID_ARG_TYPE'));
      });

      test('an async progress listener that rejects fails the map with its error: no unhandled rejection', T, async (t) => {
        const exec = using(t, E.make());
        const thrown = new Error('listener failed later');
        const unhandled = [];
        const onUnhandled = (reason) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        t.after(() => process.off('unhandledRejection', onUnhandled));
        let called;
        const listenerCalled = new Promise((resolve) => { called = resolve; });
        // The second input comes only after the listener ran and its rejection had its microtasks.
        async function* inputs() {
          yield 1;
          await listenerCalled;
          await new Promise((resolve) => setImmediate(resolve));
          for (let i = 2; i < 40; i++) yield i;
        }
        const progress = async () => { called(); throw thrown; };
        await assert.rejects(exec.map(tasks.square, inputs(), { chunksize: 1, progress }), (err) => err === thrown);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(unhandled, []);
      });

      test('a progress listener that throws fails the map with its error, and the executor goes on', T, async (t) => {
        const exec = using(t, E.make());
        const thrown = new Error('listener bug');
        let calls = 0;
        const progress = () => { calls++; throw thrown; };
        await assert.rejects(exec.map(tasks.square, [1, 2, 3, 4], { chunksize: 1, progress }), (err) => err === thrown);
        assert.equal(calls, 1, 'the listener is not called again after it threw');
        assert.deepEqual(await exec.map(tasks.square, [1, 2, 3]), [1, 4, 9]);
      });

      test('map with a numeric chunksize returns every result in order', T, async (t) => {
        const exec = using(t, E.make());
        const inputs = Array.from({ length: 95 }, (_, i) => i);
        assert.deepEqual(await exec.map(tasks.square, inputs, { chunksize: 10 }), squares(95));
      });

      test("map with chunksize 'auto' returns every result in order", T, async (t) => {
        const exec = using(t, E.make());
        const inputs = Array.from({ length: 5000 }, (_, i) => i);
        assert.deepEqual(await exec.map(tasks.square, inputs, { chunksize: 'auto' }), squares(5000));
      });

      test('map keeps input order when a later input finishes first', T, async (t) => {
        const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
        const flag = join(tempDir(t), 'flag');
        const results = await exec.map(sleepy.rendezvous, [{ wait: flag, value: 'a' }, { touch: flag, value: 'b' }], { chunksize: 1 });
        assert.deepEqual(results, ['a', 'b']);
      });

      test('starmap spreads each input as the argument list', T, async (t) => {
        const exec = using(t, E.make());
        assert.deepEqual(await exec.starmap(tasks.add, [[1, 2], [3, 4], [5, 6]]), [3, 7, 11]);
      });

      test('map rejects with the first task error as FJ_TASK_FAILED', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.map(tasks.squareEven, [0, 2, 4, 5, 6], { chunksize: 1 }), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.equal(err.cause.name, 'ValidationError');
          assert.ok(err.cause.message.includes('5'));
          return true;
        });
      });

      test('map with settle: true returns every outcome', T, async (t) => {
        const exec = using(t, E.make());
        const results = await exec.map(tasks.squareEven, [0, 1, 2, 3], { settle: true });
        assert.equal(results.length, 4);
        assert.deepEqual(results[0], { status: 'fulfilled', value: 0 });
        assert.deepEqual(results[2], { status: 'fulfilled', value: 4 });
        for (const i of [1, 3]) {
          assert.equal(results[i].status, 'rejected');
          assert.equal(results[i].reason.code, 'FJ_TASK_FAILED');
          assert.equal(results[i].reason.cause.field, 'x');
        }
      });

      test('imap yields results in input order by default, even when a later input finishes first', T, async (t) => {
        const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
        const flag = join(tempDir(t), 'flag');
        const out = [];
        for await (const value of exec.imap(sleepy.rendezvous, [{ wait: flag, value: 'a' }, { touch: flag, value: 'b' }], { chunksize: 1 })) {
          out.push(value);
        }
        assert.deepEqual(out, ['a', 'b']);
      });

      test('imap with ordered: false yields results as they finish', T, async (t) => {
        const exec = using(t, E.make({ slots: 1, perWorker: 2 }));
        const flag = join(tempDir(t), 'flag');
        const out = [];
        for await (const value of exec.imap(sleepy.rendezvous, [{ wait: flag, value: 'a' }, { touch: flag, value: 'b' }], { chunksize: 1, ordered: false })) {
          out.push(value);
        }
        assert.deepEqual(out, ['b', 'a']);
      });

      test('imap with ordered: false yields every result once', T, async (t) => {
        const exec = using(t, E.make());
        const out = [];
        for await (const value of exec.imap(tasks.square, Array.from({ length: 300 }, (_, i) => i), { ordered: false })) out.push(value);
        assert.deepEqual(out.sort((a, b) => a - b), squares(300));
      });

      test('imap with settle: true yields every outcome in order', T, async (t) => {
        const exec = using(t, E.make());
        const out = [];
        for await (const outcome of exec.imap(tasks.squareEven, [0, 1, 2], { settle: true })) out.push(outcome);
        assert.deepEqual(out[0], { status: 'fulfilled', value: 0 });
        assert.equal(out[1].status, 'rejected');
        assert.equal(out[1].reason.code, 'FJ_TASK_FAILED');
        assert.deepEqual(out[2], { status: 'fulfilled', value: 4 });
      });

      test('imap rejects the loop with the first task error', T, async (t) => {
        const exec = using(t, E.make());
        const out = [];
        await assert.rejects(async () => {
          for await (const value of exec.imap(tasks.squareEven, [0, 2, 3, 4], { chunksize: 1 })) out.push(value);
        }, code('FJ_TASK_FAILED'));
        assert.deepEqual(out, [0, 4]);
      });

      test("an ordered imap raises an input's error only after yielding every result before it, though that error came first", T, async (t) => {
        const exec = using(t, E.make({ slots: 1, perWorker: 3 }));
        const flag = join(tempDir(t), 'flag');
        // 'a' and 'b' finish once 'c' has failed.
        const inputs = [{ wait: flag, value: 'a' }, { wait: flag, value: 'b' }, { touch: flag, fail: true, value: 'c' }, { touch: flag, value: 'd' }];
        const { out, err } = await imapUntilError(exec, inputs, 1);
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.index, 2);
        assert.deepEqual(out, ['a', 'b']);
      });

      test("an ordered imap with chunks of several inputs yields every result before a failed input, its own chunk's too, then its error", T, async (t) => {
        const exec = using(t, E.make({ slots: 2 }));
        const dir = tempDir(t);
        const flag = join(dir, 'flag');
        // Chunk ['a', 'b'] finishes once chunk ['c', 'd'] has failed at 'd'.
        const inputs = [{ wait: flag, value: 'a' }, { wait: flag, value: 'b' }, { touch: join(dir, 'c'), value: 'c' }, { touch: flag, fail: true, value: 'd' }];
        const { out, err } = await imapUntilError(exec, inputs, 2);
        assert.equal(err.code, 'FJ_TASK_FAILED');
        assert.equal(err.index, 3);
        assert.deepEqual(out, ['a', 'b', 'c']);
      });

      for (const chunksize of [4, 'auto']) {
        test(`imap pulls an endless async generator lazily, a bounded number ahead of the consumer (chunksize ${chunksize})`, T, async (t) => {
          const exec = using(t, E.make());
          let pulled = 0;
          let closed = false;
          async function* naturals() {
            try {
              for (let i = 0; ; i++) {
                pulled++;
                yield i;
              }
            } finally {
              closed = true;
            }
          }
          const taken = [];
          for await (const value of exec.imap(tasks.square, naturals(), { chunksize })) {
            taken.push(value);
            if (taken.length === 100) break;
          }
          const pulledWhenStopped = pulled;
          assert.deepEqual(taken, squares(100));
          assert.ok(closed, 'breaking out of the loop closes the generator');
          // An eager reader would have pulled without limit while tasks ran; a bounded one stays close.
          // 'auto' may pack thousands of tiny inputs into one chunk, so its bound is looser.
          const bound = chunksize === 'auto' ? 100_000 : 100 + 200;
          assert.ok(pulledWhenStopped <= bound, `pulled ${pulledWhenStopped} inputs to yield 100 results`);
          // And nothing is pulled after the consumer stopped.
          await exec.run(tasks.square, [1]);
          assert.equal(pulled, pulledWhenStopped);
        });
      }

      test('a progress listener sees every input finish', T, async (t) => {
        const exec = using(t, E.make());
        const events = [];
        const inputs = Array.from({ length: 40 }, (_, i) => i);
        await exec.map(tasks.square, inputs, { chunksize: 5, progress: (event) => events.push(event) });
        assert.ok(events.length >= 1);
        for (let i = 1; i < events.length; i++) assert.ok(events[i].done > events[i - 1].done, 'done only goes up: no event repeats the one before');
        const last = events.at(-1);
        assert.equal(last.done, 40);
        assert.equal(last.total, 40);
        assert.equal(last.failed, 0);
        assert.equal(typeof last.rate, 'number');
        assert.equal(typeof last.elapsedMs, 'number');
      });

      test('a progress listener counts failed inputs of a settled map', T, async (t) => {
        const exec = using(t, E.make());
        const events = [];
        await exec.map(tasks.squareEven, [0, 1, 2, 3, 4], { settle: true, progress: (event) => events.push(event) });
        const last = events.at(-1);
        assert.equal(last.done, 5);
        assert.equal(last.failed, 2);
      });

      test("a failed map's last progress event counts the inputs done before the failure and the failure itself", T, async (t) => {
        const exec = using(t, E.make());
        const events = [];
        // One chunk: its first three inputs succeed, the fourth fails, and the chunk stops there.
        await assert.rejects(exec.map(tasks.squareEven, [0, 2, 4, 1, 6, 8], { chunksize: 6, progress: (event) => events.push(event) }), (err) => err.index === 3);
        assert.deepEqual(events.map((e) => [e.done, e.failed]), [[4, 1]]);
      });

      test("an imap's progress clock starts when its iteration begins, not when imap() is called", T, async (t) => {
        const exec = using(t, E.make());
        let begun = 0;
        const readings = [];
        const it = exec.imap(tasks.square, [1, 2, 3], { chunksize: 1, progress: (e) => readings.push([e.elapsedMs, performance.now() - begun]) });
        // A while between imap() and the loop: the clock must not count it.
        await new Promise((resolve) => setTimeout(resolve, 200));
        begun = performance.now();
        for await (const _ of it) { /* each result counts */ }
        assert.ok(readings.length > 0);
        for (const [elapsedMs, sinceBegun] of readings) assert.ok(elapsedMs <= sinceBegun + 1, `elapsedMs ${elapsedMs} counts from before the loop began (${sinceBegun} ms ago)`);
      });

      test("an ordered imap that fails counts the inputs done and the failure in its last progress event", T, async (t) => {
        const exec = using(t, E.make());
        const events = [];
        await assert.rejects(async () => {
          for await (const _ of exec.imap(tasks.squareEven, [0, 2, 1, 4], { chunksize: 4, progress: (e) => events.push(e) })) { /* results before the failure */ }
        }, (err) => err.index === 2);
        assert.deepEqual(events.map((e) => [e.done, e.failed]), [[3, 1]]);
      });

      test('an async progress listener that rejects after the last input finished fails the map with its error', T, async (t) => {
        const exec = using(t, E.make());
        const thrown = new Error('the listener failed after the map was done');
        const progress = async (event) => {
          if (event.done < event.total) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw thrown;
        };
        await assert.rejects(exec.map(tasks.square, [1, 2, 3], { chunksize: 1, progress }), (err) => err === thrown);
        // One that rejects at once, as the last input finishes.
        await assert.rejects(exec.map(tasks.square, [1, 2, 3], { chunksize: 1, progress: async (e) => { if (e.done === e.total) throw thrown; } }), (err) => err === thrown);
      });

      test('an aborted signal rejects a running map with FJ_ABORTED', T, async (t) => {
        const exec = using(t, E.make());
        const controller = new AbortController();
        const flag = join(tempDir(t), 'never');
        const map = exec.map(sleepy.waitForFile, [flag, flag, flag], { signal: controller.signal, chunksize: 1 });
        controller.abort();
        try {
          await assert.rejects(map, code('FJ_ABORTED'));
        } finally {
          touch(flag); // lets a LocalExecutor's waiting tasks end
        }
      });
    });

    test("a `function` task's `this` is undefined: it cannot reach the executor's record of its call", T, async (t) => {
      const exec = using(t, E.make());
      assert.equal(await exec.run(function peek() { return this === undefined ? 'undefined' : typeof this; }, []), 'undefined');
      await assert.rejects(exec.run(function forge() { this.settle(true, 'forged'); return 'real'; }, []), (err) => err.code === 'FJ_TASK_FAILED');
    });

    describe('errors from tasks', () => {
      test("a task's error rejects with a TaskError whose cause keeps name, message, code, own properties and stack", T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.failValidation, ['email']), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.equal(err.name, 'TaskError');
          assert.ok(isForkJoinError(err, 'FJ_TASK_FAILED'));
          const cause = err.cause;
          assert.ok(cause instanceof Error);
          assert.equal(cause.name, 'ValidationError');
          assert.equal(cause.message, 'bad email');
          assert.equal(cause.code, 'E_VALIDATION');
          assert.equal(cause.field, 'email');
          assert.match(cause.stack, /failValidation/);
          assert.match(cause.stack, /fixtures\/tasks\.js/);
          return true;
        });
      });

      test('a built-in error type thrown by a task is revived as that type with its own properties', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.fail, ['out of range']), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.ok(err.cause instanceof RangeError);
          assert.equal(err.cause.message, 'out of range');
          assert.equal(err.cause.code, 'E_CUSTOM');
          assert.deepEqual(err.cause.detail, { n: 1 });
          return true;
        });
      });

      test("a task's error keeps a code its class defines as a getter", T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.failWithClassCode, []), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.equal(err.cause.code, 'E_HTTP_404');
          assert.equal(err.cause.message, 'not found');
          return true;
        });
      });

      test("a task's error keeps its own properties that are not enumerable, still not enumerable", T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.failWithHiddenProps, []), (err) => {
          assert.equal(err.cause.code, 'E_HIDDEN');
          assert.deepEqual(err.cause.details, { id: 1 });
          assert.deepEqual(Object.keys(err.cause).filter((key) => key === 'code' || key === 'details'), []);
          return true;
        });
      });

      test("a task's error whose name and another property throw when read keeps its message and its other properties", T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.failWithUnreadableProps, []), (err) => {
          assert.equal(err.code, 'FJ_TASK_FAILED');
          assert.equal(err.message, 'the real message');
          assert.equal(err.cause.message, 'the real message');
          assert.equal(err.cause.code, 'E_KEPT');
          return true;
        });
      });

      test('a missing export fails with FJ_TASK_NOT_EXPORTED listing the exports', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.doesNotExist, [1]), (err) => {
          assert.equal(err.code, 'FJ_TASK_NOT_EXPORTED');
          for (const name of ['doesNotExist', 'square', 'add', 'whoami']) assert.ok(err.message.includes(name), `message names ${name}: ${err.message}`);
          return true;
        });
      });

      test('an export that is not a function fails with FJ_TASK_NOT_EXPORTED', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.notAFunction, []), code('FJ_TASK_NOT_EXPORTED'));
      });

      test("a module that fails to load fails with FJ_MODULE_LOAD_FAILED and the loader's message", T, async (t) => {
        const exec = using(t, E.make());
        const { taskModule } = await import('forkjoin');
        const broken = taskModule(new URL('./fixtures/broken.js', import.meta.url));
        await assert.rejects(exec.run(broken.square, [2]), (err) => {
          assert.equal(err.code, 'FJ_MODULE_LOAD_FAILED');
          assert.ok(err.message.includes('broken-module-sentinel'), err.message);
          return true;
        });
      });

      test('a module that does not exist fails with FJ_MODULE_LOAD_FAILED naming it', T, async (t) => {
        const exec = using(t, E.make());
        const { taskModule } = await import('forkjoin');
        const missing = taskModule(new URL('./fixtures/no-such-module.js', import.meta.url));
        await assert.rejects(exec.run(missing.square, [2]), (err) => {
          assert.equal(err.code, 'FJ_MODULE_LOAD_FAILED');
          assert.ok(err.message.includes('no-such-module.js'), err.message);
          return true;
        });
      });

      test('the executor keeps running tasks after a task failed', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.run(tasks.fail, ['x']), code('FJ_TASK_FAILED'));
        assert.equal(await exec.run(tasks.square, [6]), 36);
      });
    });

    describe('capacity and lifecycle', () => {
      test('async tasks run concurrently up to the concurrency limit', T, async (t) => {
        // Each call waits until three calls are running at once: they can only finish together.
        const exec = using(t, E.make({ slots: 1, perWorker: 3 }));
        const key = `barrier-${E.name}`;
        const where = await Promise.all([0, 1, 2].map(() => exec.run(tasks.barrier, [key, 3])));
        assert.equal(new Set(where).size, 1, 'all three ran in one worker');
      });

      test('maxQueue rejects a task beyond the queue with FJ_QUEUE_FULL', T, async (t) => {
        const exec = using(t, E.make({ slots: 1, maxQueue: 2 }));
        const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => exec.run(tasks.sleep, [5, i]).then(
          (value) => ({ value }),
          (err) => ({ code: err.code }),
        )));
        const rejected = outcomes.filter((o) => 'code' in o);
        assert.ok(rejected.length >= 1, 'at least one task was refused');
        for (const o of rejected) assert.equal(o.code, 'FJ_QUEUE_FULL');
        for (const [i, o] of outcomes.entries()) if ('value' in o) assert.equal(o.value, i);
        const stats = exec.stats();
        assert.deepEqual([stats.done, stats.failed], [outcomes.length - rejected.length, 0], 'a refused call is neither done nor failed');
      });

      test('close() refuses options it does not know, and a cancelPending that is not a boolean', T, async (t) => {
        const exec = using(t, E.make());
        await assert.rejects(exec.close({ cancelPending: 'yes' }), code('FJ_INVALID_ARG_TYPE'));
        await assert.rejects(exec.close({ cancelPendng: true }), code('FJ_INVALID_ARG_TYPE'));
        assert.equal(await exec.run(tasks.square, [3]), 9, 'a refused close() leaves the executor open');
      });

      test('a map in progress leaves maxQueue to tasks: its queued chunks do not count against it', T, async (t) => {
        const flag = join(tempDir(t), 'go');
        const exec = using(t, E.make({ slots: 2, maxQueue: 1 }));
        const mapped = exec.map(sleepy.waitForFile, Array.from({ length: 20 }, (_, i) => i).map(() => flag), { chunksize: 1 });
        while (exec.stats().queued < 2) await new Promise((r) => setTimeout(r, 5));
        const extra = exec.run(tasks.square, [3]);
        touch(flag);
        assert.equal((await mapped).length, 20);
        assert.equal(await extra, 9);
      });

      test('maxQueue counts only tasks that must wait: a free slot takes one at once', T, async (t) => {
        for (const maxQueue of [0, 1]) {
          const exec = using(t, E.make({ slots: 2, maxQueue }));
          // Submitted in one turn: none finishes before the last is submitted.
          const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => exec.run(tasks.sleep, [20, i]).then(
            () => 'ok',
            (err) => err.code,
          )));
          assert.deepEqual(outcomes, [...Array(2 + maxQueue).fill('ok'), ...Array(3 - maxQueue).fill('FJ_QUEUE_FULL')], `maxQueue ${maxQueue}`);
        }
      });

      test('stats() reports workers, queue, counts, utilisation and latency', T, async (t) => {
        const exec = using(t, E.make());
        await Promise.all([1, 2, 3].map((x) => exec.run(tasks.square, [x])));
        await assert.rejects(exec.run(tasks.fail, ['x']), code('FJ_TASK_FAILED'));
        const s = exec.stats();
        assert.equal(s.done, 3);
        assert.equal(s.failed, 1);
        assert.equal(s.queued, 0);
        assert.equal(s.running, 0);
        assert.equal(s.workersReplaced, 0);
        assert.ok(Number.isInteger(s.workers) && s.workers >= 1 && s.workers <= 2, `workers ${s.workers}`);
        assert.ok(Number.isInteger(s.idleWorkers) && s.idleWorkers >= 0 && s.idleWorkers <= s.workers);
        assert.ok(s.utilisation >= 0 && s.utilisation <= 1, `utilisation ${s.utilisation}`);
        for (const key of ['mean', 'p50', 'p95', 'p99', 'max']) {
          assert.equal(typeof s.latency[key], 'number');
          assert.ok(s.latency[key] >= 0);
        }
        assert.ok(s.latency.p50 <= s.latency.max);
        assert.ok(s.latency.max > 0);
      });

      test('stats() counts queued and running tasks', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        await occupy(t, exec, tempDir(t));
        const waiting = exec.submit(tasks.square, [1]);
        waiting.then(undefined, () => {});
        const s = exec.stats();
        assert.equal(s.running, 1);
        assert.equal(s.queued, 1);
      });

      test('stats() counts a job sent ahead to a busy worker as queued until the worker begins it, as the job says', T, async (t) => {
        const exec = using(t, E.make({ slots: 2 }));
        // Measured as long, jobs then go one ahead per worker, behind the one it runs.
        await Promise.all([0, 1].map((i) => exec.run(tasks.sleep, [150, i])));
        const jobs = Array.from({ length: 6 }, (_, i) => exec.submit(tasks.sleep, [300, i]));
        while (jobs.filter((job) => job.state === 'running').length < 2) await new Promise((r) => setTimeout(r, 5));
        // Read in one turn: nothing settles in between.
        const states = jobs.map((job) => job.state);
        const s = exec.stats();
        assert.deepEqual([s.running, s.queued], [states.filter((x) => x === 'running').length, states.filter((x) => x === 'queued').length], states.join());
        await Promise.all(jobs);
      });

      if (E.name !== 'ProcessPool') {
        test('stats() after terminate(): map inputs sent ahead to a worker that had not begun them are neither done nor failed', T, async (t) => {
          const exec = using(t, E.make({ slots: 2 }));
          const mapped = exec.starmap(tasks.sleep, Array.from({ length: 40 }, (_, i) => [100, i]), { chunksize: 1 });
          mapped.catch(() => {});
          // Measured by then: an input is sent ahead to each worker, behind the one it runs.
          while (exec.stats().done < 4) await new Promise((r) => setTimeout(r, 5));
          await exec.terminate();
          await assert.rejects(mapped, code('FJ_EXECUTOR_TERMINATED'));
          assert.ok(exec.stats().failed <= 2, `failed ${exec.stats().failed}: at most the inputs running on the two workers`);
        });
      }

      test('stats() after terminate(): a task dropped from the queue is cancelled, neither done nor failed', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        const { job: running } = await occupy(t, exec, tempDir(t));
        const queued = exec.submit(tasks.square, [1]);
        await exec.terminate();
        await Promise.allSettled([running, queued]);
        assert.deepEqual([running.state, queued.state], ['rejected', 'cancelled']);
        assert.deepEqual([exec.stats().done, exec.stats().failed], [0, 1]);
      });

      if (E.isPool) {
        test('stats() never counts a worker being stopped as idle', T, async (t) => {
          const exec = using(t, E.make({ slots: 2 }));
          const controller = new AbortController();
          const dir = tempDir(t);
          const running = [0, 1].map(() => exec.run(sleepy.markThenHang, [join(dir, `started-${Math.random()}`)], { signal: controller.signal }));
          await filesAppear(dir, 2);
          controller.abort();
          await Promise.allSettled(running);
          assert.equal(exec.stats().idleWorkers, 0);
        });
      }

      test('close() finishes queued work before it resolves', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        const jobs = [0, 1, 2, 3].map((i) => exec.submit(tasks.sleep, [5, i]));
        await exec.close();
        assert.deepEqual(jobs.map((j) => j.state), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        assert.deepEqual(await Promise.all(jobs), [0, 1, 2, 3]);
      });

      test('close() called twice is safe', T, async (t) => {
        const exec = using(t, E.make());
        const job = exec.submit(tasks.square, [3]);
        await Promise.all([exec.close(), exec.close()]);
        await exec.close();
        assert.equal(await job, 9);
      });

      test('a task submitted after close() fails with FJ_EXECUTOR_CLOSED', T, async (t) => {
        const exec = using(t, E.make());
        await exec.close();
        await assert.rejects(exec.run(tasks.square, [3]), code('FJ_EXECUTOR_CLOSED'));
      });

      test('close({ cancelPending: true }) rejects queued tasks with FJ_EXECUTOR_CLOSED and lets the running one finish', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        const { job: running, release } = await occupy(t, exec, tempDir(t));
        const queued = exec.submit(tasks.square, [2]);
        queued.then(undefined, () => {});
        const closing = exec.close({ cancelPending: true });
        await assert.rejects(queued, code('FJ_EXECUTOR_CLOSED'));
        release();
        await closing;
        assert.equal(await running, 'released');
      });

      test('[Symbol.asyncDispose]() closes the executor', T, async (t) => {
        const exec = using(t, E.make());
        assert.equal(await exec.run(tasks.square, [2]), 4);
        await exec[Symbol.asyncDispose]();
        await assert.rejects(exec.run(tasks.square, [3]), code('FJ_EXECUTOR_CLOSED'));
      });

      test('terminate() rejects queued tasks with FJ_EXECUTOR_TERMINATED', T, async (t) => {
        const exec = using(t, E.make({ slots: 1 }));
        await occupy(t, exec, tempDir(t));
        const queued = [exec.submit(tasks.square, [1]), exec.submit(tasks.square, [2])];
        for (const job of queued) job.then(undefined, () => {});
        await exec.terminate();
        for (const job of queued) await assert.rejects(job, code('FJ_EXECUTOR_TERMINATED'));
        await assert.rejects(exec.run(tasks.square, [3]), (err) => ['FJ_EXECUTOR_CLOSED', 'FJ_EXECUTOR_TERMINATED'].includes(err.code));
      });

      test('every call made after terminate() rejects with FJ_EXECUTOR_TERMINATED: run, submit, map, starmap and imap alike', T, async (t) => {
        const exec = using(t, E.make());
        await exec.terminate();
        await assert.rejects(exec.run(tasks.square, [1]), code('FJ_EXECUTOR_TERMINATED'));
        await assert.rejects(exec.submit(tasks.square, [1]), code('FJ_EXECUTOR_TERMINATED'));
        await assert.rejects(exec.map(tasks.square, [1, 2]), code('FJ_EXECUTOR_TERMINATED'));
        await assert.rejects(exec.starmap(tasks.add, [[1, 2]]), code('FJ_EXECUTOR_TERMINATED'));
        await assert.rejects((async () => { for await (const x of exec.imap(tasks.square, [1])) assert.fail(`yielded ${x}`); })(), code('FJ_EXECUTOR_TERMINATED'));
      });

      if (E.isPool) {
        test('terminate() rejects the running task with FJ_EXECUTOR_TERMINATED', T, async (t) => {
          const exec = using(t, E.make({ slots: 1 }));
          const { job: running } = await occupy(t, exec, tempDir(t));
          await exec.terminate();
          await assert.rejects(running, code('FJ_EXECUTOR_TERMINATED'));
        });
      }
    });
  });
}

describe('LocalExecutor', () => {
  test('a task that outlives its timeout rejects with FJ_TASK_TIMEOUT', T, async (t) => {
    const exec = using(t, Executors.find((e) => e.name === 'LocalExecutor').make({ slots: 1 }));
    const flag = join(tempDir(t), 'never');
    try {
      await assert.rejects(exec.run(sleepy.waitForFile, [flag, 'late'], { timeout: 50 }), code('FJ_TASK_TIMEOUT'));
    } finally {
      touch(flag); // the work itself cannot be interrupted in this thread: let it end
    }
  });
});
