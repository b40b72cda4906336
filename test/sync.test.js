// Coordination between threads: mutexes, semaphores, latches and counters on real worker threads, owner death.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AtomicCounter, Barrier, ErrorCodes, Latch, Mutex, Semaphore, taskModule,
} from 'forkjoin';
import { hasCode, pool, sync } from './fixtures/sync-setup.js';

/** A worker takes `mutex` and holds it until `release()`; resolves once it holds it. */
async function heldInWorker(p, mutex) {
  const held = new Latch(1);
  const release = new Latch(1);
  const done = p.run(sync.holdUntil, [mutex, held, release]);
  await held.wait();
  return { release: () => { release.countDown(); return done; } };
}

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

test('a mutex of a task module\'s own that a task leaves locked is released once its worker is idle, though no lock reached that worker as an argument', async (t) => {
  const p = pool(t, { workers: 1 });
  const own = taskModule(new URL('./fixtures/sync-module-lock.js', import.meta.url));
  const thread = await p.run(own.lockAndReturn, []);
  assert.deepEqual(await p.run(own.tryIt, []), { free: true, ownerDied: true });
  assert.equal(await p.run(own.lockAndReturn, []), thread, 'the same worker took it again');
});

test('a mutex a task makes and returns still locked is free, its next owner told, by the time the result arrives', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = await p.run(sync.makeLockedAndReturn, []);
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
