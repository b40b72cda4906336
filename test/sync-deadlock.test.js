// Coordination between threads: the deadlock detector, over blocking waits of real worker threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Barrier, DeadlockError, ErrorCodes, Latch, Mutex, isForkJoinError,
} from 'forkjoin';
import { hasCode, pool, sync } from './fixtures/sync-setup.js';

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

test('a wait that closes a cycle fails in the thread whose wait closes it, and the thread that waited first gets its lock', async (t) => {
  const p = pool(t, { workers: 2 });
  // Two rounds over the same two threads, with the parts swapped: the failing thread must follow the part, not the thread.
  for (let round = 0; round < 2; round++) {
    const [alpha, beta] = [new Mutex({ name: 'alpha' }), new Mutex({ name: 'beta' })];
    const ids = new Int32Array(new SharedArrayBuffer(8));
    const meet = new Barrier(2);
    const outcomes = await Promise.all([0, 1].map(() => p.run(sync.closeOrWaitFirst, [alpha, beta, ids, meet, round])));
    outcomes.sort((a, b) => a.part.localeCompare(b.part));
    assert.deepEqual(outcomes, [{ part: 'closes', outcome: ErrorCodes.DEADLOCK }, { part: 'waits first', outcome: 'finished' }], `round ${round}`);
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
