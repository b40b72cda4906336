// Which calls a dead or stopped worker takes with it: only those known to be running
// fail (or use a retry); calls that finished or never started are not blamed or re-run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { taskModule } from 'forkjoin';
import { PoolKinds, crash, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';

const exitOnImport = taskModule(new URL('./fixtures/exit-on-import.js', import.meta.url));

const T = { timeout: 120_000 };
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};
const runs = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
const waitFor = async (check) => { while (!check()) await new Promise((r) => setTimeout(r, 10)); };

for (const E of PoolKinds) {
  describe(E.name, () => {
    test('a crash fails only the call that caused it, once, not the quick calls sent with it', T, async (t) => {
      const dir = tempDir(t);
      const log = join(dir, 'bad');
      const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
      // Quick calls teach the pool to send many per message, so the worker holds back their results.
      for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: 500 }, (_, i) => pool.run(tasks.square, [i])));
      const before = Array.from({ length: 10 }, (_, i) => pool.run(tasks.square, [i]));
      const bad = pool.run(crash.logThenDie, [log]);
      const after = Array.from({ length: 10 }, (_, i) => pool.run(tasks.square, [i + 10]));
      await assert.rejects(bad, (err) => ['FJ_WORKER_EXITED', 'FJ_WORKER_OUT_OF_MEMORY'].includes(err.code));
      assert.deepEqual(await Promise.all([...before, ...after]), Array.from({ length: 20 }, (_, i) => i * i));
      assert.equal(runs(log), 1);
    });

    test('a crash in a function that ran before fails its call, not the others, and does not loop', T, async (t) => {
      const dir = tempDir(t);
      const log = join(dir, 'bad');
      const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
      for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: 500 }, (_, i) => pool.run(crash.dieOn, [i, -1, log])));
      const calls = Array.from({ length: 21 }, (_, i) => pool.run(crash.dieOn, [i, 10, log]));
      await assert.rejects(calls[10], (err) => ['FJ_WORKER_EXITED', 'FJ_WORKER_OUT_OF_MEMORY'].includes(err.code));
      const others = calls.filter((_, i) => i !== 10);
      assert.deepEqual(await Promise.all(others), Array.from({ length: 21 }, (_, i) => i * 2).filter((_, i) => i !== 10));
      // Nothing told the pool it was running the first time; it was reported, and blamed, the second.
      assert.ok(runs(log) <= 2);
    });

    test('a call reported running that ended before another call crashed the worker is not blamed for the crash', T, async (t) => {
      const dir = tempDir(t);
      const log = join(dir, 'bad');
      const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
      for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: 500 }, (_, i) => pool.run(crash.dieOn, [i, -1, log])));
      // The timeout makes the worker report the first call as it begins it; both go in one message.
      const reported = pool.run(crash.dieOn, [1, -1, log], { timeout: 60_000 });
      const bad = pool.run(crash.dieOn, [2, 2, log]);
      await assert.rejects(bad, (err) => ['FJ_WORKER_EXITED', 'FJ_WORKER_OUT_OF_MEMORY'].includes(err.code));
      assert.equal(await reported, 2);
      assert.ok(runs(log) <= 2);
    });

    test('an input that crashes its worker in a map fails alone: the inputs run beside it on later workers are not blamed', T, async (t) => {
      const dir = tempDir(t);
      const log = join(dir, 'bad');
      const pool = using(t, E.make({ slots: 1, maxHeapMb: 32 }));
      const inputs = Array.from({ length: 40 }, (_, i) => [i, 13, log]);
      const outcomes = await pool.starmap(crash.dieOn, inputs, { chunksize: 10, settle: true, retries: 0 });
      const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
      assert.deepEqual(rejected, [13]);
      assert.deepEqual(outcomes.map((o, i) => (i === 13 ? null : o.value)), inputs.map(([i]) => (i === 13 ? null : i * 2)));
    });

    test('calls running beside one that ran their worker out of memory run again alone, so that only it fails', T, async (t) => {
      const pool = using(t, E.make({ slots: 1, perWorker: 3, maxHeapMb: 32, retries: 1 }));
      const beside = [pool.run(tasks.sleep, [300, 'a']), pool.run(tasks.sleep, [300, 'b'])];
      const bad = pool.run(crash.hogSoon, []);
      await assert.rejects(bad, code('FJ_WORKER_OUT_OF_MEMORY'));
      assert.deepEqual(await Promise.all(beside), ['a', 'b']);
      assert.equal(pool.stats().workersReplaced, 2);
    });

    test('calls of a module that kills its worker on import each fail once with FJ_WORKER_EXITED', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const calls = [1, 2, 3].map((x) => pool.run(exitOnImport.square, [x]));
      for (const call of calls) await assert.rejects(call, code('FJ_WORKER_EXITED'));
      assert.equal(pool.stats().workersReplaced, 3);
    });

    test('a call sent to a worker that dies before starting it runs on the next worker', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      assert.equal(await pool.run(crash.throwLater, []), 'returned');
      assert.equal(await pool.run(tasks.square, [3]), 9);
    });

    test('calls running beside one that timed out fail with FJ_WORKER_EXITED and are not run again', T, async (t) => {
      const dir = tempDir(t);
      const [a, b] = [join(dir, 'a'), join(dir, 'b')];
      const pool = using(t, E.make({ slots: 1, perWorker: 3, retries: 0 }));
      // Once it has returned here, the worker reports A and B as started after they start, not before.
      await pool.run(sleepy.logThenAwaitRuns, [join(dir, 'warm'), 1, 'warm']);
      // A and B return only on a second run: they still run when the timeout kills their worker.
      const beside = [pool.run(sleepy.logThenAwaitRuns, [a, 2, 'A']), pool.run(sleepy.logThenAwaitRuns, [b, 2, 'B'])];
      await waitFor(() => runs(a) === 1 && runs(b) === 1);
      await assert.rejects(pool.run(sleepy.hang, [], { timeout: 100 }), code('FJ_TASK_TIMEOUT'));
      for (const call of beside) await assert.rejects(call, code('FJ_WORKER_EXITED'));
      assert.deepEqual([runs(a), runs(b)], [1, 1]);
    });

    test('calls running beside one that timed out run again while their retries allow', T, async (t) => {
      const dir = tempDir(t);
      const a = join(dir, 'a');
      const pool = using(t, E.make({ slots: 1, perWorker: 2, retries: 1 }));
      // A's first run returns only once its retry started, which follows its worker's exit: only the retry answers.
      const beside = pool.run(sleepy.logThenAwaitRuns, [a, 2, 'A']);
      await waitFor(() => runs(a) === 1);
      await assert.rejects(pool.run(sleepy.hang, [], { timeout: 100, retries: 0 }), code('FJ_TASK_TIMEOUT'));
      assert.equal(await beside, 'A');
      assert.equal(runs(a), 2);
    });

    test('a setup that outlives the pool timeout fails waiting calls with FJ_WORKER_START_FAILED', { timeout: 60_000 }, async (t) => {
      const pool = using(t, E.make({ slots: 1, setup: sleepy.hang, timeout: 200 }));
      await assert.rejects(pool.run(tasks.square, [2]), (err) => {
        assert.equal(err.code, 'FJ_WORKER_START_FAILED');
        assert.match(err.message, /setup ran past its timeout of 200 ms/);
        return true;
      });
    });

    test('a setup with a timeout of its own may outlive the pool timeout, which bounds tasks only', { timeout: 60_000 }, async (t) => {
      const pool = using(t, E.make({ slots: 1, setup: { task: tasks.sleep, args: [400], timeout: 30_000 }, timeout: 100 }));
      // A timeout of its own: a worker descheduled for 100 ms must not fail this quick call.
      assert.equal(await pool.run(tasks.square, [3], { timeout: 30_000 }), 9);
      await assert.rejects(pool.run(sleepy.hang, []), code('FJ_TASK_TIMEOUT'));
    });

    test('a setup timeout bounds the setup of a pool without a timeout', { timeout: 60_000 }, async (t) => {
      const pool = using(t, E.make({ slots: 1, setup: { task: sleepy.hang, timeout: 200 } }));
      await assert.rejects(pool.run(tasks.square, [2]), (err) => {
        assert.equal(err.code, 'FJ_WORKER_START_FAILED');
        assert.match(err.message, /setup ran past its timeout of 200 ms/);
        return true;
      });
    });

    test('a map chunk whose worker one input killed runs its inputs again alone: only that input fails', { timeout: 60_000 }, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      const inputs = Array.from({ length: 20 }, (_, i) => i);
      const outcomes = await pool.map(crash.exitOnSeven, inputs, { settle: true, chunksize: 4 });
      assert.deepEqual(outcomes.flatMap((o, i) => (o.status === 'rejected' ? [[i, o.reason.code]] : [])), [[7, 'FJ_WORKER_EXITED']]);
      assert.deepEqual(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value), inputs.filter((x) => x !== 7).map((x) => x * 2));
      await assert.rejects(pool.map(crash.exitOnSeven, inputs, { chunksize: 4 }), (err) => err.code === 'FJ_WORKER_EXITED' && err.index === 7);
    });
  });
}
