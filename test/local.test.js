// LocalExecutor specifics: what runs in the calling thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForkJoinError, LocalExecutor, Mutex, taskModule, taskRef } from 'forkjoin';
import { settleWithin } from './fixtures/helpers.js';

const tasks = taskModule(new URL('./fixtures/tasks.js', import.meta.url));

test('20,000 synchronous tasks queued behind a module load run without overflowing the stack', async () => {
  const local = new LocalExecutor({ concurrency: 1 });
  const results = await Promise.all(Array.from({ length: 20_000 }, (_, i) => local.run(tasks.square, [i])));
  assert.equal(results.length, 20_000);
  assert.equal(results[19_999], 19_999 * 19_999);
  await local.close();
});

test('an inline function runs in this thread and may use its closure', async () => {
  const local = new LocalExecutor({ concurrency: 2 });
  const factor = 3;
  assert.deepEqual(await local.map((x) => x * factor, [1, 2, 3]), [3, 6, 9]);
  await local.close();
});

test('bound and native functions run too: nothing is shipped', async () => {
  const local = new LocalExecutor({ concurrency: 2 });
  function offset(x) { return x + this.by; }
  assert.equal(await local.run(offset.bind({ by: 10 }), [1]), 11);
  assert.deepEqual(await local.map(Math.sqrt, [4, 9]), [2, 3]);
  assert.deepEqual(await local.starmap(Math.max, [[1, 5], [7, 2]]), [5, 7]);
  await local.close();
});

test('what a task throws is the cause of its TaskError itself, from run, map, starmap and imap alike', async () => {
  const local = new LocalExecutor({ concurrency: 2 });
  class Refused extends Error { code = 'E_REFUSED'; }
  const thrown = new Refused('seven is refused');
  const refuse = (x) => { if (x === 7) throw thrown; return x; };
  const isThrown = (index) => (err) => err.code === 'FJ_TASK_FAILED' && err.cause === thrown && err.index === index && /seven is refused/.test(err.message);
  await assert.rejects(local.run(refuse, [7]), (err) => err.code === 'FJ_TASK_FAILED' && err.cause === thrown);
  await assert.rejects(local.map(refuse, [1, 7, 3]), isThrown(1));
  await assert.rejects(local.map(refuse, [1, 2, 7], { chunksize: 3 }), isThrown(2));
  await assert.rejects(local.starmap(refuse, [[7]]), isThrown(0));
  await assert.rejects((async () => { for await (const x of local.imap(refuse, [7, 1])) void x; })(), isThrown(0));
  const settled = await local.map(refuse, [7, 1], { settle: true });
  assert.equal(settled[0].reason.cause, thrown);
  await assert.rejects(local.map(refuse, [7]), (err) => err.stack.includes('local.test.js') && !/in a worker/.test(err.stack));
  await local.close();
});

test('forkjoin\'s own error raised in a task (a lock timeout) comes back as itself from run and map, with its stack', async () => {
  const local = new LocalExecutor({ concurrency: 2 });
  const mutex = new Mutex();
  await mutex.lock();
  const wait = async () => mutex.lock({ timeout: 5 });
  const fromRun = await local.run(wait, []).then(() => null, (err) => err);
  const fromMap = await local.map(wait, [1]).then(() => null, (err) => err);
  for (const err of [fromRun, fromMap]) {
    assert.ok(err instanceof ForkJoinError && err.constructor === fromRun.constructor, `${err?.constructor?.name}`);
    assert.equal(err.code, fromRun.code);
    assert.match(err.stack, /Mutex\.lock/);
    assert.doesNotMatch(err.stack, /reviveTaskError/);
  }
  assert.equal(fromMap.index, 0);
  mutex.unlock();
  await local.close();
});

test('after close() its stats show no idle slot left', async () => {
  const local = new LocalExecutor({ concurrency: 4 });
  assert.equal(local.stats().idleWorkers, 4);
  await local.run((x) => x, [1]);
  await local.close();
  assert.equal(local.stats().workers, 0);
  assert.equal(local.stats().idleWorkers, 0);
});

test('a module that fails to load or lacks the export fails with a ForkJoinError, as on the pools', async () => {
  const local = new LocalExecutor();
  for (const [task, expected] of [[taskRef(new URL('./fixtures/tasks.js', import.meta.url), 'nope'), 'FJ_TASK_NOT_EXPORTED'], [taskRef(new URL('./fixtures/missing.js', import.meta.url), 'f'), 'FJ_MODULE_LOAD_FAILED']]) {
    await assert.rejects(local.run(task, []), (err) => err instanceof ForkJoinError && err.code === expected);
  }
  await local.close();
});

test('a synchronous task that holds the thread past its timeout fails with FJ_TASK_TIMEOUT once it returns', async () => {
  const local = new LocalExecutor();
  const hold = (ms) => { const end = Date.now() + ms; while (Date.now() < end); return 'finished'; };
  await assert.rejects(local.run(hold, [300], { timeout: 50 }), (err) => err.code === 'FJ_TASK_TIMEOUT' && /result was dropped/.test(err.message));
  assert.equal(await local.run(hold, [1], { timeout: 10_000 }), 'finished');
  await local.close();
});
test('an async task is not timed out for the time a map input, or the first call of another export, held the thread', async () => {
  // A module of its own (by its query): its exports are loaded for the first time here.
  const fresh = taskModule(new URL(`./fixtures/tasks.js?blame-${process.pid}`, import.meta.url));
  const local = new LocalExecutor({ concurrency: 4 });
  const quick = local.run(fresh.sleep, [20, 'in time'], { timeout: 200 });
  const mapped = local.map(fresh.hold, [600], { chunksize: 1 });
  assert.equal(await quick, 'in time');
  assert.deepEqual(await mapped, [600]);
  const again = local.run(tasks.sleep, [20, 'in time'], { timeout: 200 });
  const first = local.run(fresh.hold, [600]);
  assert.equal(await again, 'in time');
  assert.equal(await first, 600);
  await local.close();
});

test('a task whose caller stopped waiting (timed out, aborted) gives up its slot: one that never settles stops neither the next task nor close()', async () => {
  const local = new LocalExecutor({ concurrency: 1 });
  const never = () => new Promise(() => {});
  await assert.rejects(local.run(never, [], { timeout: 50 }), (err) => err.code === 'FJ_TASK_TIMEOUT');
  assert.equal(local.stats().running, 0);
  assert.equal(await local.run((x) => x * 2, [21]), 42);
  const controller = new AbortController();
  const aborted = local.run(never, [], { signal: controller.signal });
  const queued = local.run((x) => x + 1, [1]);
  controller.abort();
  await assert.rejects(aborted, (err) => err.code === 'FJ_ABORTED');
  assert.equal(await queued, 2);
  await settleWithin(local.close(), 60_000, 'close() after tasks that never settle');
});

test('a map input that never settles, left running when another input timed out, gives up its slot at its own timeout: close() ends', async () => {
  const local = new LocalExecutor({ concurrency: 2 });
  await assert.rejects(local.map(() => new Promise(() => {}), [1, 2], { timeout: 50, chunksize: 1 }), (err) => err.code === 'FJ_TASK_TIMEOUT');
  await settleWithin(local.close(), 60_000, 'close() after a map whose inputs never settle');
  assert.equal(local.stats().running, 0);
});

test('an async task that settles while another task held the thread is not timed out for it; the task that held it is', async () => {
  const local = new LocalExecutor({ concurrency: 4 });
  const hold = (ms) => { const until = Date.now() + ms; while (Date.now() < until); return 'held'; };
  const quick = local.run(async () => 'quick', [], { timeout: 100 });
  const slow = local.run(hold, [400], { timeout: 100 });
  assert.equal(await quick, 'quick');
  await assert.rejects(slow, (err) => err.code === 'FJ_TASK_TIMEOUT');
  const inputs = [10, 10, 400, 10];
  const mapped = await local.map(async (ms) => (ms > 100 ? hold(ms) : ms), inputs, { timeout: 100, settle: true, chunksize: 1 });
  assert.deepEqual(mapped.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.code)), [10, 10, 'FJ_TASK_TIMEOUT', 10]);
  // An async task that holds the thread itself after an await is timed out all the same.
  await assert.rejects(local.run(async () => { await null; return hold(400); }, [], { timeout: 100 }), (err) => err.code === 'FJ_TASK_TIMEOUT');
  await local.close();
});

