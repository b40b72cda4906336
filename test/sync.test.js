// Coordination between threads: every primitive on real worker threads, the deadlock detector, owner death.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AtomicCounter, Barrier, DeadlockError, ErrorCodes, Latch, Mutex, ProcessPool, Semaphore, ThreadPool, isForkJoinError, taskModule,
} from 'forkjoin';

const sync = taskModule(new URL('./fixtures/sync-tasks.js', import.meta.url));

function pool(t, options = {}) {
  const p = new ThreadPool({ workers: 4, ...options });
  t.after(() => p.terminate());
  return p;
}

const hasCode = (code) => (err) => isForkJoinError(err, code);

/** A worker takes `mutex` and holds it until `release()`; resolves once it holds it. */
async function heldInWorker(p, mutex) {
  const held = new Latch(1);
  const release = new Latch(1);
  const done = p.run(sync.holdUntil, [mutex, held, release]);
  await held.wait();
  return { release: () => { release.countDown(); return done; } };
}

test('a primitive passed alone or nested in objects and arrays arrives as a working instance', async (t) => {
  const p = pool(t, { workers: 1 });
  const kinds = await p.run(sync.kinds, [new Semaphore(1), { inside: { mutex: new Mutex() }, list: [new AtomicCounter()] }]);
  assert.deepEqual(kinds, ['Semaphore', 'Mutex', 'AtomicCounter']);
});

test('data of the caller\'s with a key named like a lock\'s record stays data, as a result or an argument, beside real locks', async (t) => {
  const p = pool(t, { workers: 1 });
  const lookalike = { __forkjoinSync: 'Mutex', registry: 1, base: 2 };
  const back = await p.run((mutex, data) => ({ mutex, data, semaphore: { __forkjoinSync: 'Semaphore', buffer: 16 } }), [new Mutex({ name: 'real' }), lookalike]);
  assert.ok(back.mutex instanceof Mutex);
  assert.equal(back.mutex.name, 'real');
  assert.deepEqual(back.data, lookalike);
  assert.deepEqual(back.semaphore, { __forkjoinSync: 'Semaphore', buffer: 16 });
  const arrived = await p.run((latch, mutex) => [Object.getPrototypeOf(latch) === Object.prototype, latch.buffer, typeof mutex.lockSync], [{ __forkjoinSync: 'Latch', buffer: 4 }, new Mutex()]);
  assert.deepEqual(arrived, [true, 4, 'function']);
});

test('locks in a setup\'s arguments arrive working in each worker; a ProcessPool refuses them when made, naming where', async (t) => {
  const counter = new AtomicCounter();
  const p = pool(t, { workers: 2, setup: { task: sync.setupWithLocks, args: [counter, new Mutex({ name: 'setup' })] } });
  await p.run((x) => x, [1]);
  assert.ok(counter.get() >= 1);
  assert.throws(() => new ProcessPool({ setup: { task: sync.setupWithLocks, args: [counter, new Mutex()] } }), (err) => {
    assert.ok(isForkJoinError(err, ErrorCodes.ARG_NOT_CLONEABLE));
    assert.match(err.message, /setup\.args\[0\]/);
    return true;
  });
});

test('an array holding a lock keeps its own properties besides its items, and a lock in such a property arrives working', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holding = [mutex, 2];
  holding.meta = 'kept';
  const inProperty = [1, 2];
  inProperty.lock = mutex;
  const seen = await p.run((a, b) => [a[0].constructor.name, a.meta, typeof b.lock.lockSync, b.length], [holding, inProperty]);
  assert.deepEqual(seen, ['Mutex', 'kept', 'function', 2]);
});

test('a primitive in every one of 50,000 map inputs arrives working, whatever the chunk size', async (t) => {
  const p = pool(t, { workers: 2 });
  const counter = new AtomicCounter();
  const inputs = Array.from({ length: 50_000 }, (_, i) => ({ i, counter }));
  const arrived = await p.map(sync.addThrough, inputs);
  assert.equal(arrived.filter((ok) => ok === true).length, 50_000);
  assert.equal(counter.get(), 50_000);
});

test('a primitive beside 20,000 objects, 200 levels deep, or twice in a cyclic argument arrives working', async (t) => {
  const p = pool(t, { workers: 1 });
  const counter = new AtomicCounter();
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ i }));
  assert.deepEqual(await p.run(sync.kinds, [counter, { inside: { mutex: new Mutex(), rows }, list: [counter] }]), ['AtomicCounter', 'Mutex', 'AtomicCounter']);
  let chain = { counter };
  for (let i = 0; i < 200; i++) chain = { next: chain };
  assert.equal(await p.run(sync.addAtDepth, [chain]), 1);
  const mutex = new Mutex();
  const box = { a: mutex, b: mutex, rows: rows.slice(0, 100) };
  box.self = box;
  assert.deepEqual(await p.run(sync.sameTwice, [box]), { same: true, isMutex: true, cycle: true, rowsAreObjects: true });
  assert.equal(box.a, mutex, "the caller's argument is left as it was");
});

test('a primitive a task returns, made there or received, arrives working in the caller', async (t) => {
  const p = pool(t, { workers: 1 });
  const counter = new AtomicCounter(5);
  const back = await p.run(sync.giveBack, [counter]);
  assert.ok(back.made instanceof Mutex);
  assert.equal(back.made.name, 'made in a worker');
  const held = await back.made.lock();
  held.release();
  assert.ok(back.counter instanceof AtomicCounter);
  assert.equal(back.counter, back.list[0], 'one counter, referred to twice');
  back.counter.add(1);
  assert.equal(counter.get(), 6, 'the same shared memory as the counter passed in');
  const mapped = await p.map(sync.giveBack, [counter, counter], { chunksize: 2 });
  assert.ok(mapped.every((r) => r.counter instanceof AtomicCounter && r.made instanceof Mutex));
});

test('a task can make a lock of its own inside a worker', async (t) => {
  const p = pool(t, { workers: 1 });
  assert.deepEqual(await p.run(sync.makeMutexHere, []), { isMutex: true, busyWhileHeld: true, freeAfter: true });
});

test('a mutex keeps read-modify-write updates from being lost across threads', async (t) => {
  const p = pool(t);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const mutex = new Mutex();
  const start = new Barrier(4);
  await Promise.all([0, 1, 2, 3].map(() => p.run(sync.lockedIncrements, [cell, mutex, start, 5_000])));
  assert.equal(cell[0], 20_000);
  assert.equal(mutex.locked, false);
});

test('an AtomicCounter never loses an increment', async (t) => {
  const p = pool(t);
  const counter = new AtomicCounter(5);
  await Promise.all([0, 1, 2, 3].map(() => p.run(sync.counterIncrements, [counter, 10_000])));
  assert.equal(counter.get(), 40_005);
  assert.equal(counter.compareAndSet(40_005, 1), true);
  assert.equal(counter.compareAndSet(40_005, 2), false);
  assert.equal(counter.add(-3), -2);
});

test('an AtomicCounter refuses a number out of range with a RangeError and a non-number with a TypeError', () => {
  const counter = new AtomicCounter(1);
  const calls = [(v) => new AtomicCounter(v), (v) => counter.set(v), (v) => counter.add(v), (v) => counter.compareAndSet(1, v)];
  for (const call of calls) {
    for (const value of [2 ** 60, -(2 ** 53), 1.5, Infinity]) {
      assert.throws(() => call(value), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE, `${call} ${value}`);
    }
    for (const value of ['1', 1n, null, NaN]) {
      assert.throws(() => call(value), (err) => err instanceof TypeError && err.code === ErrorCodes.INVALID_ARG_TYPE, `${call} ${String(value)}`);
    }
  }
  assert.equal(counter.get(), 1);
  assert.equal(counter.add(2 ** 53 - 2), 2 ** 53 - 1);
  // A result past the safe integers is refused too, and the counter keeps its value.
  for (const step of [() => counter.increment(), () => counter.add(1), () => counter.add(2 ** 53 - 1)]) {
    assert.throws(step, (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE);
  }
  assert.equal(counter.get(), 2 ** 53 - 1);
  counter.set(-(2 ** 53 - 1));
  assert.throws(() => counter.decrement(), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE);
  assert.equal(counter.get(), -(2 ** 53 - 1));
});

test('Semaphore.release(count) and Latch.countDown(n) refuse a non-number with a TypeError, and release never wraps the permits past 2^31 - 1', () => {
  const semaphore = new Semaphore(1);
  const latch = new Latch(3);
  for (const call of [(v) => semaphore.release(v), (v) => latch.countDown(v)]) {
    for (const value of ['2', 2n, null]) {
      assert.throws(() => call(value), (err) => err instanceof TypeError && err.code === ErrorCodes.INVALID_ARG_TYPE, `${call} ${String(value)}`);
    }
    for (const value of [0, -1, 1.5, NaN, 2 ** 31]) {
      assert.throws(() => call(value), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE, `${call} ${value}`);
    }
  }
  semaphore.release(2 ** 31 - 2);
  assert.equal(semaphore.available, 2 ** 31 - 1);
  assert.throws(() => semaphore.release(1), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE);
  assert.equal(semaphore.available, 2 ** 31 - 1, 'a refused release leaves the permits as they were');
  assert.equal(latch.count, 3);
});

test('tryLock returns null while another thread holds the mutex', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holder = await heldInWorker(p, mutex);
  assert.equal(mutex.tryLock(), null);
  await holder.release();
  const lock = mutex.tryLock();
  assert.notEqual(lock, null);
  lock.release();
});

test('the main thread waits for a lock without blocking its event loop', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holder = await heldInWorker(p, mutex);
  const waiting = mutex.lock();
  // The event loop still runs while the lock is held elsewhere: this callback runs and lets the holder go.
  await new Promise((resolve) => setImmediate(resolve));
  const released = holder.release();
  const lock = await waiting;
  assert.equal(mutex.locked, true);
  lock[Symbol.dispose]();
  assert.equal(mutex.locked, false);
  await released;
});

test('lock({ timeout }) fails with FJ_LOCK_TIMEOUT when the lock stays held', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holder = await heldInWorker(p, mutex);
  await assert.rejects(mutex.lock({ timeout: 20 }), hasCode(ErrorCodes.LOCK_TIMEOUT));
  await holder.release();
});

test('lock({ signal }) stops waiting with FJ_ABORTED when the signal aborts', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holder = await heldInWorker(p, mutex);
  const controller = new AbortController();
  const waiting = mutex.lock({ signal: controller.signal });
  controller.abort(new Error('stop'));
  await assert.rejects(waiting, hasCode(ErrorCodes.ABORTED));
  await holder.release();
});

test('lock() checks its options even when the mutex is free, as Semaphore.acquire() does', async () => {
  const cases = [
    [{ timeout: -5 }, ErrorCodes.INVALID_ARG_VALUE],
    [{ timeout: 'soon' }, ErrorCodes.INVALID_ARG_TYPE],
    [{ signal: 5 }, ErrorCodes.INVALID_ARG_TYPE],
    [{ tiemout: 100 }, ErrorCodes.INVALID_ARG_TYPE],
    [{ signal: AbortSignal.abort() }, ErrorCodes.ABORTED],
  ];
  for (const [options, code] of cases) {
    const mutex = new Mutex();
    await assert.rejects(mutex.lock(options), hasCode(code), `Mutex: ${JSON.stringify(options)}`);
    assert.equal(mutex.locked, false);
    await assert.rejects(new Semaphore(1).acquire(options), hasCode(code), `Semaphore: ${JSON.stringify(options)}`);
  }
});

test('two async lockers on the main thread take turns instead of getting a DeadlockError', async () => {
  const mutex = new Mutex({ name: 'M' });
  const first = await mutex.lock();
  const second = mutex.lock({ timeout: 30_000 });
  // The second waits while the first holds the mutex, on the same thread: its turn comes once the first lets go.
  await new Promise((resolve) => setImmediate(resolve));
  first.release();
  const lock = await second;
  assert.equal(mutex.locked, true);
  lock.release();
  assert.equal(mutex.locked, false);
});

test('two async tasks on one worker take turns with lock() instead of getting a DeadlockError', async (t) => {
  const p = pool(t, { workers: 1, concurrentTasksPerWorker: 2 });
  const mutex = new Mutex();
  const [held, release, waiting] = [new Latch(1), new Latch(1), new Latch(1)];
  const holder = p.run(sync.holdAsyncUntil, [mutex, held, release]);
  await held.wait();
  const waiter = p.run(sync.lockAsyncAfter, [mutex, waiting]);
  await waiting.wait();
  release.countDown();
  const [holderThread, waiterThread] = await Promise.all([holder, waiter]);
  assert.equal(holderThread, waiterThread, 'both ran on the one worker');
  assert.equal(mutex.locked, false);
});

test('blocking waits are refused on the main thread', () => {
  const mutex = new Mutex();
  const held = mutex.tryLock();
  assert.throws(() => mutex.lockSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
  held.release();
  assert.throws(() => new Latch(1).waitSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
});

test('blocking waits are refused on the main thread even when they would not block, so the refusal does not depend on load', () => {
  assert.throws(() => new Mutex().lockSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
  assert.throws(() => new Semaphore(1).acquireSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
  assert.throws(() => new Latch(0).waitSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
  assert.throws(() => new Barrier(1).waitSync(), hasCode(ErrorCodes.SYNC_WOULD_BLOCK));
});

test('new Mutex() refuses unknown options and a name that is not a string', () => {
  for (const options of [{ name: 5 }, { nam: 'x' }, null, 'lock']) {
    assert.throws(() => new Mutex(options), (err) => err instanceof TypeError && err.code === 'FJ_INVALID_ARG_TYPE', JSON.stringify(options));
  }
  assert.equal(new Mutex({ name: 'ledger' }).name, 'ledger');
});

test('a lock inside a Map, a Set or a class instance is refused with FJ_ARG_NOT_CLONEABLE naming its path', async (t) => {
  const p = pool(t, { workers: 1 });
  class Box { constructor(value) { this.value = value; } }
  const mutex = new Mutex();
  const cases = [
    [[new Map([["k", mutex]])], "args[0].get(\"k\")"],
    [[{ list: [new Set([mutex])] }], 'args[0].list[0]<set item 0>'],
    [[1, new Box(new Semaphore(1))], 'args[1].value'],
  ];
  for (const [args, path] of cases) {
    await assert.rejects(p.run(sync.kinds, args), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === path, path);
  }
  await assert.rejects(p.submit(sync.kinds, [new Box(mutex)]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[0].value');
  // The same lock also passed where it is rebuilt neither hides the one in the Map nor takes the blame.
  await assert.rejects(p.run(sync.kinds, [new Map([['k', mutex]]), mutex]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[0].get("k")');
  await assert.rejects(p.run(sync.kinds, [mutex, new Map([['k', mutex]])]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[1].get("k")' && /inside a Map/.test(err.message));
  await assert.rejects(p.map(sync.kinds, [mutex, new Box(mutex)]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'inputs[1].value');
});

test('unlock by a thread that does not hold the mutex fails with FJ_LOCK_NOT_OWNER', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const held = mutex.tryLock();
  await assert.rejects(p.run(sync.unlockWithoutHolding, [mutex]), hasCode(ErrorCodes.LOCK_NOT_OWNER));
  assert.equal(mutex.locked, true);
  held.release();
});

test('a lock handle released another way never releases a later acquisition', async () => {
  const mutex = new Mutex();
  const first = await mutex.lock();
  mutex.unlock();
  const second = await mutex.lock();
  first.release();
  first[Symbol.dispose]();
  assert.equal(mutex.locked, true, 'the stale handle left the second acquisition alone');
  second.release();
  assert.equal(mutex.locked, false);
  second.release();
});

test('two threads taking two locks in opposite order get a DeadlockError instead of a hang', async (t) => {
  const p = pool(t, { workers: 2 });
  const x = new Mutex({ name: 'X' });
  const y = new Mutex({ name: 'Y' });
  const bothHold = new Barrier(2);
  const outcomes = await Promise.allSettled([p.run(sync.takeTwo, [x, y, bothHold]), p.run(sync.takeTwo, [y, x, bothHold])]);
  const failed = outcomes.filter((o) => o.status === 'rejected');
  assert.equal(failed.length, 1, 'exactly one wait closes the cycle');
  const err = failed[0].reason;
  assert.ok(isForkJoinError(err, ErrorCodes.DEADLOCK));
  assert.match(err.message, /\bX\b/);
  assert.match(err.message, /\bY\b/);
  assert.equal(err.cycle.length, 2);
  assert.deepEqual(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value), ['finished']);
});

test('two-lock cycles formed over and over, three at a time, are each reported by exactly one DeadlockError', async (t) => {
  // The thread that finds a cycle wakes its victim; when the victim had walked the graph too early to
  // see the cycle and was not asleep yet, that wake was lost and both threads waited for good.
  const pairs = 3;
  const p = pool(t, { workers: 2 * pairs });
  const locks = Array.from({ length: pairs }, (_, i) => [new Mutex({ name: `A${i}` }), new Mutex({ name: `B${i}` })]);
  for (let round = 0; round < 150; round++) {
    const outcomes = await Promise.all(locks.map(([a, b]) => {
      const bothHold = new Barrier(2);
      return Promise.allSettled([p.run(sync.takeTwo, [a, b, bothHold, 10_000]), p.run(sync.takeTwo, [b, a, bothHold, 10_000])]);
    }));
    for (const pair of outcomes) {
      const codes = pair.map((o) => (o.status === 'fulfilled' ? o.value : o.reason.code)).sort();
      assert.deepEqual(codes, [ErrorCodes.DEADLOCK, 'finished'], `round ${round}`);
    }
  }
});

test('a cycle of three threads is detected', async (t) => {
  const p = pool(t, { workers: 3 });
  const [a, b, c] = [new Mutex({ name: 'A' }), new Mutex({ name: 'B' }), new Mutex({ name: 'C' })];
  const allHold = new Barrier(3);
  const outcomes = await Promise.allSettled([
    p.run(sync.takeTwo, [a, b, allHold]), p.run(sync.takeTwo, [b, c, allHold]), p.run(sync.takeTwo, [c, a, allHold]),
  ]);
  const failed = outcomes.filter((o) => o.status === 'rejected');
  assert.ok(failed.length >= 1);
  for (const o of failed) assert.ok(isForkJoinError(o.reason, ErrorCodes.DEADLOCK));
  const err = failed[0].reason;
  assert.equal(err.cycle.length, 3);
  // Each thread saw two of the three locks; the report names all three all the same.
  assert.deepEqual(err.cycle.map((edge) => edge.waitsFor).sort(), ['A', 'B', 'C']);
  assert.ok(err instanceof DeadlockError, 'a DeadlockError raised in a worker is one in the caller too');
  assert.equal(err.name, 'DeadlockError');
});

test('locking a mutex the thread already holds is reported as a deadlock', async (t) => {
  const p = pool(t, { workers: 1 });
  await assert.rejects(p.run(sync.relock, [new Mutex({ name: 'again' })]), hasCode(ErrorCodes.DEADLOCK));
});

test('a blocking wait that closes a cycle only through an async wait is not reported as a deadlock', async (t) => {
  // The main thread holds Y in one async flow and waits for X in another; a worker holds X and blocks
  // for Y. The main thread keeps running and could let Y go at any time: that is no deadlock, so the
  // worker just waits (here until its timeout, as Y stays held), and the main thread's wait goes on.
  const p = pool(t, { workers: 1 });
  const x = new Mutex({ name: 'X' });
  const y = new Mutex({ name: 'Y' });
  const [held, go] = [new Latch(1), new Latch(1)];
  const yLock = await y.lock();
  const worker = p.run(sync.takeFirstThenBlockFor, [x, y, held, go, 100]);
  await held.wait();
  const xWait = x.lock({ timeout: 30_000 });
  go.countDown();
  await assert.rejects(worker, hasCode(ErrorCodes.LOCK_TIMEOUT));
  (await xWait).release();
  yLock.release();
  assert.equal(x.locked || y.locked, false);
});

test('heavy contention over locks taken in one order never reports a deadlock', async (t) => {
  const p = pool(t, { workers: 4 });
  const locks = [new Mutex(), new Mutex(), new Mutex()];
  const cell = new Int32Array(new SharedArrayBuffer(4));
  await Promise.all([0, 1, 2, 3].map(() => p.run(sync.inOrder, [locks, cell, 100_000])));
  assert.equal(cell[0], 400_000);
});

test('a lock held by a worker that dies is released, and its next owner is told', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  await assert.rejects(p.run(sync.lockAndDie, [mutex]), hasCode(ErrorCodes.WORKER_EXITED));
  const lock = await mutex.lock({ timeout: 30_000 });
  assert.equal(lock.ownerDied, true);
  lock.release();
  const again = await mutex.lock();
  assert.equal(again.ownerDied, false);
  again.release();
});

test('a mutex a task leaves locked when it throws is released once its worker is idle, and its next owner is told', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex({ name: 'accounts' });
  await assert.rejects(p.run(sync.lockAndThrow, [mutex]), hasCode(ErrorCodes.TASK_FAILED));
  // The next task on the same worker takes it (no "already holds" DeadlockError) and is told.
  assert.equal(await p.run(sync.lockSyncOwnerDied, [mutex]), true);
  const lock = mutex.tryLock();
  assert.equal(lock.ownerDied, false);
  lock.release();
});

test('a mutex a task returns holding is free for other threads by the time its result arrives', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  await p.run(sync.lockAndReturn, [mutex]);
  const lock = mutex.tryLock();
  assert.notEqual(lock, null);
  assert.equal(lock.ownerDied, true);
  lock.release();
});

test('a mutex held by a task still running is kept when another task on its worker ends', async (t) => {
  const p = pool(t, { workers: 1, concurrentTasksPerWorker: 2 });
  const mutex = new Mutex();
  const [held, release] = [new Latch(1), new Latch(1)];
  const holder = p.run(sync.holdAsyncUntil, [mutex, held, release]);
  await held.wait();
  assert.equal(await p.run(sync.tryLockHere, [mutex]), false);
  assert.equal(mutex.tryLock(), null);
  release.countDown();
  await holder;
  const lock = mutex.tryLock();
  assert.equal(lock.ownerDied, false);
  lock.release();
});

test('a permit a finished task keeps is not returned: a semaphore has no owner, any thread may release it', async (t) => {
  const p = pool(t, { workers: 1 });
  const semaphore = new Semaphore(1);
  assert.equal(await p.run(sync.acquireAndReturn, [semaphore]), 0);
  assert.equal(semaphore.available, 0);
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

test('a semaphore bounds how many tasks hold a permit at once', async (t) => {
  const p = pool(t, { workers: 4, concurrentTasksPerWorker: 2 });
  const semaphore = new Semaphore(2);
  const inside = new AtomicCounter();
  const most = new AtomicCounter();
  await Promise.all(Array.from({ length: 12 }, (_, i) => p.run(sync.withPermit, [semaphore, inside, most, i % 2 === 0 && false])));
  assert.equal(most.get(), 2);
  assert.equal(semaphore.available, 2);
});

test('a semaphore acquired with acquireSync in workers bounds them too', async (t) => {
  const p = pool(t, { workers: 4 });
  const semaphore = new Semaphore(1);
  const inside = new AtomicCounter();
  const most = new AtomicCounter();
  await Promise.all(Array.from({ length: 8 }, () => p.run(sync.withPermit, [semaphore, inside, most, true])));
  assert.equal(most.get(), 1);
});

test('a semaphore acquire times out with FJ_LOCK_TIMEOUT when no permit comes back', async () => {
  const semaphore = new Semaphore(1);
  const permit = semaphore.tryAcquire();
  await assert.rejects(semaphore.acquire({ timeout: 10 }), hasCode(ErrorCodes.LOCK_TIMEOUT));
  permit[Symbol.dispose]();
  assert.equal(semaphore.available, 1);
});

test('a barrier releases its parties together, round after round, with one leader each round', { timeout: 60_000 }, async (t) => {
  // Thousands of rounds: a party checking whether its round is over, just as the leader
  // ends it, must not then sleep through the next round (this hung once in a few hundred).
  const p = pool(t, { workers: 3 });
  const barrier = new Barrier(3);
  const leaders = new AtomicCounter();
  await Promise.all([0, 1, 2].map(() => p.run(sync.barrierRounds, [barrier, leaders, 5_000])));
  assert.equal(leaders.get(), 5_000);
  assert.equal(barrier.waiting, 0);
});

test('a barrier wait that times out withdraws, leaving the barrier usable', async (t) => {
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait({ timeout: 10 }), hasCode(ErrorCodes.LOCK_TIMEOUT));
  assert.equal(barrier.waiting, 0);
  const p = pool(t, { workers: 1 });
  const leaders = new AtomicCounter();
  await Promise.all([barrier.wait(), p.run(sync.barrierRounds, [barrier, leaders, 1])]);
});

test('a party that dies at a barrier breaks the round: the others fail with FJ_BARRIER_BROKEN instead of waiting forever or passing without it', async (t) => {
  const p = pool(t, { workers: 2 });
  // The caller waits first; a party arrives in a worker and its worker exits.
  const barrier = new Barrier(3);
  const waiting = barrier.wait();
  await assert.rejects(p.run(sync.arriveThenExit, [barrier]), hasCode(ErrorCodes.WORKER_EXITED));
  await assert.rejects(waiting, hasCode(ErrorCodes.BARRIER_BROKEN));
  // A party stopped by its pool (a timeout) while it waits: the next arrival finds the round broken.
  const pair = new Barrier(2);
  await assert.rejects(p.run(sync.waitThere, [pair], { timeout: 200 }), hasCode(ErrorCodes.TASK_TIMEOUT));
  await assert.rejects(pair.wait(), hasCode(ErrorCodes.BARRIER_BROKEN));
  // The next round starts afresh.
  const [here, there] = await Promise.all([pair.wait(), p.run(sync.waitThere, [pair])]);
  assert.equal([here.leader, there.leader].filter(Boolean).length, 1);
});

test('a broken round is not taken for broken again when the round numbers come round (65,536 rounds later)', { timeout: 120_000 }, async (t) => {
  const p = pool(t, { workers: 2 });
  const pair = new Barrier(2);
  await assert.rejects(p.run(sync.waitThere, [pair], { timeout: 200 }), hasCode(ErrorCodes.TASK_TIMEOUT));
  await assert.rejects(pair.wait(), hasCode(ErrorCodes.BARRIER_BROKEN));
  assert.deepEqual(await Promise.all([p.run(sync.roundsAt, [pair, 70_000]), p.run(sync.roundsAt, [pair, 70_000])]), [{ completed: 70_000 }, { completed: 70_000 }]);
});

test('a latch releases its waiters once counted down to zero', async (t) => {
  const p = pool(t, { workers: 4 });
  const latch = new Latch(3);
  const blocked = p.run(sync.awaitLatch, [latch]);
  const waiting = latch.wait();
  await Promise.all([0, 1, 2].map(() => p.run(sync.countDown, [latch])));
  await waiting;
  assert.equal(await blocked, 'released');
  assert.equal(latch.count, 0);
});

test('a ProcessPool refuses primitives, naming the primitive and its path: processes share no memory', async (t) => {
  const p = new ProcessPool({ workers: 1 });
  t.after(() => p.terminate());
  await assert.rejects(p.run(sync.kinds, [new Mutex(), { inside: {}, list: [] }]), hasCode(ErrorCodes.ARG_NOT_CLONEABLE));
  await assert.rejects(p.run(sync.kinds, [1, { x: [1, { c: new AtomicCounter() }] }]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[1].x[1].c' && /is an AtomicCounter, which cannot cross between processes/.test(err.message));
  await assert.rejects(p.map(sync.kinds, [1, { m: new Mutex() }]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'inputs[1].m');
  await assert.rejects(p.run(sync.makeMutexAndReturn, []), (err) => err.code === 'FJ_RESULT_NOT_CLONEABLE' && /result\.made is a Mutex/.test(err.message));
});
