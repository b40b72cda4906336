// Events of the local executors: taskStart and taskEnd for each call and map chunk, workerStart
// and workerExit with the reason a worker ended, and listeners that throw or come and go.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Executors, PoolKinds, crash, endless, fileAppears, settleWithin, sleepy, tasks, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const TYPES = ['taskStart', 'taskEnd', 'workerStart', 'workerExit'];

/** Every event `executor` emits, in order. */
function collect(executor, types = TYPES) {
  const events = [];
  for (const type of types) executor.on(type, (event) => { events.push(event); });
  return events;
}

const of = (events, type) => events.filter((e) => e.type === type);

for (const E of Executors) {
  describe(`${E.name} events`, () => {
    test('each call and each map chunk gives one taskStart and one taskEnd, with the same id, a worker number, start <= end and its inputs', T, async (t) => {
      const executor = using(t, E.make());
      const events = collect(executor);
      assert.equal(await executor.run(tasks.square, [3]), 9);
      assert.deepEqual(await executor.map(tasks.square, [1, 2, 3, 4, 5, 6, 7], { chunksize: 3 }), [1, 4, 9, 16, 25, 36, 49]);
      await executor.close();
      const starts = of(events, 'taskStart');
      const ends = of(events, 'taskEnd');
      assert.equal(ends.length, 4, 'one run and three chunks');
      assert.deepEqual(starts.map((e) => e.id).sort(), ends.map((e) => e.id).sort());
      assert.equal(new Set(ends.map((e) => e.id)).size, 4);
      assert.deepEqual(ends.map((e) => e.inputs).sort(), [1, 1, 3, 3]);
      for (const end of ends) {
        const start = starts.find((s) => s.id === end.id);
        assert.equal(end.task, 'square');
        assert.equal(start.task, 'square');
        assert.equal(end.ok, true);
        assert.equal(end.error, undefined);
        assert.ok(Number.isInteger(end.worker) && end.worker >= 1, `worker ${end.worker}`);
        assert.equal(start.worker, end.worker);
        assert.equal(start.at, end.start);
        assert.ok(end.start <= end.end, `${end.start} <= ${end.end}`);
        assert.equal(end.ms, end.end - end.start);
        assert.ok(end.start > Date.UTC(2020, 0, 1), 'epoch milliseconds');
        assert.ok(events.indexOf(start) < events.indexOf(end), 'its start comes first');
      }
    });

    test('a task that throws gives taskEnd ok: false with its own error; a map chunk with a failed input too', T, async (t) => {
      const executor = using(t, E.make());
      const ends = collect(executor, ['taskEnd']);
      await assert.rejects(executor.run(tasks.fail, ['no <good>']));
      await assert.rejects(executor.map(tasks.sleepOrFail, [1, -1, 2], { chunksize: 3 }));
      await executor.close();
      assert.equal(ends.length, 2);
      assert.deepEqual({ ok: ends[0].ok, task: ends[0].task, error: ends[0].error }, { ok: false, task: 'fail', error: { code: 'E_CUSTOM', name: 'RangeError', message: 'no <good>' } });
      assert.equal(ends[1].ok, false);
      assert.equal(ends[1].inputs, 3);
      assert.deepEqual(ends[1].error, { name: 'RangeError', message: 'a negative time' });
    });

    test('a listener that throws does not break the executor: it is reported once as a process warning and keeps listening', T, async (t) => {
      const executor = using(t, E.make());
      let calls = 0;
      const warned = once(process, 'warning');
      executor.on('taskEnd', () => {
        calls++;
        throw new Error('listener <b>bug</b>');
      });
      const rejects = [];
      executor.on('taskStart', () => Promise.reject(new Error('async listener bug'))).on('taskEnd', (e) => { rejects.push(e.id); });
      assert.deepEqual(await executor.map(tasks.square, [1, 2, 3], { chunksize: 1 }), [1, 4, 9]);
      assert.equal(await executor.run(tasks.square, [4]), 16);
      const [warning] = await settleWithin(warned, 30_000, 'the warning');
      assert.equal(warning.code, 'FORKJOIN_LISTENER_FAILED');
      await executor.close();
      assert.equal(calls, 4, 'it is still called after it threw');
      assert.equal(rejects.length, 4, 'the listeners after it still run');
    });

    test('a listener that throws or rejects with a value that has no string form cannot change a call\'s outcome or the executor\'s bookkeeping', T, async (t) => {
      const executor = using(t, E.make({ slots: 1 }));
      const warnings = [];
      const onWarning = (w) => { if (w.code === 'FORKJOIN_LISTENER_FAILED') warnings.push(w.message); };
      process.on('warning', onWarning);
      t.after(() => { process.off('warning', onWarning); });
      // Object.create(null) has no toString; this one's name and message getters throw.
      const unreadable = Object.defineProperties({}, { name: { get() { throw new Error('no name'); } }, message: { get() { throw new Error('no message'); } } });
      executor.on('taskEnd', () => { throw Object.create(null); });
      executor.on('taskEnd', () => { throw unreadable; });
      executor.on('taskStart', async () => { throw Object.create(null); });
      if (E.isPool) executor.on('workerStart', async () => { throw unreadable; });
      const ends = collect(executor, ['taskEnd']);
      for (let i = 0; i < 4; i++) assert.equal(await settleWithin(executor.run(tasks.square, [i]), 30_000, `call ${i}`), i * i);
      assert.deepEqual(await settleWithin(executor.map(tasks.square, [1, 2, 3], { chunksize: 1 }), 30_000, 'the map'), [1, 4, 9]);
      await settleWithin(executor.close(), 30_000, 'close()');
      const stats = executor.stats();
      assert.deepEqual([stats.running, stats.queued, stats.failed], [0, 0, 0]);
      assert.equal(ends.length, 7, 'the listeners after them still run');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, E.isPool ? 4 : 3, 'each failing listener is reported once');
    });

    test('terminate() gives each call it cut short one taskEnd ok: false with the error the call rejected with, whatever task listeners are attached', T, async (t) => {
      for (const types of [['taskEnd'], ['taskStart', 'taskEnd']]) {
        const executor = using(t, E.make({ slots: 1 }));
        const events = collect(executor, types);
        let call;
        if (E.isPool) {
          // A task its worker has run already: the first call of a task reports its start.
          const dir = tempDir(t);
          await executor.run(tasks.blockOrTouch, [{ path: join(dir, 'warm') }]);
          call = executor.run(tasks.blockOrTouch, [{ path: join(dir, 'never'), block: true, started: join(dir, 'started') }]).catch((error) => error);
          await settleWithin(fileAppears(join(dir, 'started')), 30_000, 'the start of the call');
        } else {
          await executor.run(tasks.square, [1]);
          call = executor.run(tasks.sleep, [300]).catch((error) => error);
        }
        await settleWithin(executor.terminate(), 30_000, 'terminate()');
        const error = await call;
        assert.equal(error.code, 'FJ_EXECUTOR_TERMINATED');
        if (!E.isPool) await new Promise((resolve) => setTimeout(resolve, 500)); // the task ends on its own meanwhile: no second taskEnd
        const cut = of(events, 'taskEnd').filter((e) => !e.ok);
        assert.equal(cut.length, 1, `with ${types.join(' and ')} listeners`);
        assert.deepEqual([cut[0].ok, cut[0].error], [false, { code: error.code, name: error.name, message: error.message }]);
        assert.ok(cut[0].start <= cut[0].end);
      }
    });

    test('off() stops a listener; on() refuses an unknown event type or a listener that is not a function', T, async (t) => {
      const executor = using(t, E.make());
      const seen = [];
      const listener = (e) => { seen.push(e.id); };
      assert.equal(executor.on('taskEnd', listener), executor);
      await executor.run(tasks.square, [2]);
      assert.equal(executor.off('taskEnd', listener), executor);
      await executor.run(tasks.square, [3]);
      assert.equal(seen.length, 1);
      assert.throws(() => executor.on('taskFinish', listener), { code: 'FJ_INVALID_ARG_VALUE' });
      assert.throws(() => executor.on('taskEnd', 'listener'), { code: 'FJ_INVALID_ARG_TYPE' });
      assert.throws(() => executor.off('taskFinish', listener), { code: 'FJ_INVALID_ARG_VALUE' });
    });
  });
}

test('LocalExecutor: a task\'s worker is its concurrency slot, from 1 to concurrency', T, async (t) => {
  const executor = using(t, Executors[2].make({ slots: 3 }));
  const ends = collect(executor, ['taskEnd']);
  await Promise.all([5, 5, 5, 5, 5, 5].map((ms) => executor.run(tasks.sleep, [ms, ms])));
  await executor.close();
  assert.equal(ends.length, 6);
  const lanes = new Set(ends.map((e) => e.worker));
  for (const lane of lanes) assert.ok([1, 2, 3].includes(lane), `slot ${lane}`);
  assert.ok(lanes.has(1) && lanes.has(2) && lanes.has(3), 'three tasks ran at once, one per slot');
});

for (const E of PoolKinds) {
  describe(`${E.name} worker events`, () => {
    test('a task that kills its worker gives a taskEnd ok: false (FJ_WORKER_EXITED) and a workerExit with reason crashed', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const events = collect(pool);
      await assert.rejects(pool.run(crash.exit, [3]), { code: 'FJ_WORKER_EXITED' });
      assert.equal(await pool.run(tasks.square, [5]), 25);
      await pool.close();
      const [started1, started2] = of(events, 'workerStart');
      const exits = of(events, 'workerExit');
      assert.deepEqual(exits.map((e) => [e.worker, e.reason]), [[started1.worker, 'crashed'], [started2.worker, 'closed']]);
      assert.deepEqual([started1.worker, started2.worker], [1, 2], 'workers are numbered from 1 in each pool');
      const [failed, done] = of(events, 'taskEnd');
      assert.deepEqual([failed.task, failed.ok, failed.error.code, failed.worker], ['exit', false, 'FJ_WORKER_EXITED', 1]);
      assert.ok(failed.start <= failed.end);
      assert.deepEqual([done.task, done.ok, done.worker], ['square', true, 2]);
    });

    test('a task that times out gives taskEnd FJ_TASK_TIMEOUT and workerExit reason timeout; a retried crash gives one taskEnd per attempt', T, async (t) => {
      const pool = using(t, E.make({ slots: 1 }));
      const events = collect(pool);
      await assert.rejects(pool.run(endless.forever, [], { timeout: 200 }), { code: 'FJ_TASK_TIMEOUT' });
      await assert.rejects(pool.run(crash.exit, [3], { retries: 1 }), { code: 'FJ_WORKER_EXITED' });
      await pool.close();
      const ends = of(events, 'taskEnd');
      assert.deepEqual(ends.map((e) => [e.task, e.ok, e.error?.code]), [['forever', false, 'FJ_TASK_TIMEOUT'], ['exit', false, 'FJ_WORKER_EXITED'], ['exit', false, 'FJ_WORKER_EXITED']]);
      assert.equal(ends[1].id, ends[2].id, 'the same call, run twice');
      assert.deepEqual(of(events, 'workerExit').map((e) => e.reason), ['timeout', 'crashed', 'crashed']);
    });

    test('workers recycled by maxTasksPerWorker exit with reason recycled; an aborted running task gives reason aborted', T, async (t) => {
      const pool = using(t, E.make({ slots: 1, maxTasksPerWorker: 1 }));
      const events = collect(pool, ['workerExit', 'taskEnd']);
      await pool.run(tasks.square, [2]);
      await pool.run(tasks.square, [3]);
      const job = pool.submit(endless.forever, []);
      const started = new Promise((resolve) => pool.on('taskStart', resolve));
      await settleWithin(started, 30_000, 'the start of forever');
      job.cancel();
      await assert.rejects(job, { code: 'FJ_ABORTED' });
      await pool.close();
      const reasons = of(events, 'workerExit').map((e) => e.reason);
      assert.deepEqual(reasons, ['recycled', 'recycled', 'aborted']);
      assert.deepEqual(of(events, 'taskEnd').map((e) => [e.task, e.ok, e.error?.code]), [['square', true, undefined], ['square', true, undefined], ['forever', false, 'FJ_ABORTED']]);
    });

    test('a setup that runs past its timeout ends its worker with reason setup-failed, not crashed', T, async (t) => {
      const pool = using(t, E.make({ slots: 1, setup: { task: sleepy.hang, timeout: 200 } }));
      const events = collect(pool, ['workerStart', 'workerExit']);
      await assert.rejects(pool.run(tasks.square, [2]), { code: 'FJ_WORKER_START_FAILED', message: /setup ran past its timeout of 200 ms/ });
      await pool.close();
      const exits = of(events, 'workerExit');
      assert.ok(exits.length >= 1);
      assert.deepEqual(exits.map((e) => e.reason), exits.map(() => 'setup-failed'));
    });

    test('without a taskStart listener a taskEnd listener still hears every call; terminate() ends workers with reason terminated', T, async (t) => {
      const pool = using(t, E.make({ slots: 2 }));
      const events = collect(pool, ['taskEnd', 'workerExit']);
      await pool.map(tasks.square, Array.from({ length: 100 }, (_, i) => i), { chunksize: 10 });
      await pool.terminate();
      const ends = of(events, 'taskEnd');
      assert.equal(ends.reduce((sum, e) => sum + e.inputs, 0), 100);
      assert.ok(ends.every((e) => e.ok && e.start <= e.end));
      assert.ok(of(events, 'workerExit').every((e) => e.reason === 'terminated'));
    });
  });
}
