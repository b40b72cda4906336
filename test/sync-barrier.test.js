// Coordination between threads: barriers, their rounds, and parties that time out or die.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AtomicCounter, Barrier, ErrorCodes, Latch,
} from 'forkjoin';
import { hasCode, pool, sync } from './fixtures/sync-setup.js';

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
  // It stays broken until reset(); then the next round starts afresh.
  await assert.rejects(pair.wait(), hasCode(ErrorCodes.BARRIER_BROKEN));
  pair.reset();
  const [here, there] = await Promise.all([pair.wait(), p.run(sync.waitThere, [pair])]);
  assert.equal([here.leader, there.leader].filter(Boolean).length, 1);
});

test('a broken round is not taken for broken again when the round numbers come round (32,768 rounds later)', { timeout: 120_000 }, async (t) => {
  const p = pool(t, { workers: 2 });
  const pair = new Barrier(2);
  await assert.rejects(p.run(sync.waitThere, [pair], { timeout: 200 }), hasCode(ErrorCodes.TASK_TIMEOUT));
  await assert.rejects(pair.wait(), hasCode(ErrorCodes.BARRIER_BROKEN));
  pair.reset();
  assert.deepEqual(await Promise.all([p.run(sync.roundsAt, [pair, 70_000]), p.run(sync.roundsAt, [pair, 70_000])]), [{ completed: 70_000 }, { completed: 70_000 }]);
});

test('a party that dies waiting alone breaks the barrier: it is not counted, and every wait fails with FJ_BARRIER_BROKEN until reset()', async (t) => {
  const p = pool(t, { workers: 2 });
  const barrier = new Barrier(3);
  await assert.rejects(p.run(sync.waitThere, [barrier], { timeout: 200 }), hasCode(ErrorCodes.TASK_TIMEOUT));
  assert.equal(barrier.waiting, 0, 'the dead party is not counted');
  assert.equal(barrier.broken, true);
  // Three live parties, as many as the barrier needs: none waits for a round that cannot complete.
  const outcomes = await Promise.allSettled([barrier.wait({ timeout: 10_000 }), barrier.wait({ timeout: 10_000 }), p.run(sync.waitWithin, [barrier, 10_000])]);
  assert.deepEqual(outcomes.map((o) => o.reason?.code ?? o.value.code), Array(3).fill(ErrorCodes.BARRIER_BROKEN));
  barrier.reset();
  assert.equal(barrier.broken, false);
  const arrivals = await Promise.all([barrier.wait({ timeout: 10_000 }), barrier.wait({ timeout: 10_000 }), p.run(sync.waitWithin, [barrier, 10_000])]);
  assert.equal(arrivals.filter((a) => a.leader === true).length, 1, JSON.stringify(arrivals));
});

test('of two parties waiting on one worker, one withdrawing does not hide the other: its death breaks the round, and no later round passes without it', async (t) => {
  const p = pool(t, { workers: 1, concurrentTasksPerWorker: 2 });
  const barrier = new Barrier(4);
  const here = barrier.wait({ timeout: 10_000 });
  const [arrived, die] = [new Latch(1), new Latch(1)];
  const doomed = p.run(sync.arriveThenDieOn, [barrier, arrived, die]);
  await arrived.wait();
  // A second party on the same worker arrives, then withdraws at its timeout.
  assert.deepEqual(await p.run(sync.waitAsyncWithin, [barrier, 1]), { code: ErrorCodes.LOCK_TIMEOUT });
  die.countDown();
  await assert.rejects(doomed, hasCode(ErrorCodes.WORKER_EXITED));
  await assert.rejects(here, hasCode(ErrorCodes.BARRIER_BROKEN));
  assert.equal(barrier.waiting, 0);
  barrier.reset();
  // Three of four parties: the round must not complete.
  const three = await Promise.allSettled([0, 1, 2].map(() => barrier.wait({ timeout: 50 })));
  assert.deepEqual(three.map((o) => o.reason?.code), Array(3).fill(ErrorCodes.LOCK_TIMEOUT));
});

test('abort() breaks the barrier for the party waiting and every wait after; reset() makes it whole again, failing the parties that wait then', async (t) => {
  const barrier = new Barrier(2);
  const first = barrier.wait({ timeout: 10_000 });
  barrier.abort();
  await assert.rejects(first, hasCode(ErrorCodes.BARRIER_BROKEN));
  await assert.rejects(barrier.wait({ timeout: 10_000 }), hasCode(ErrorCodes.BARRIER_BROKEN));
  assert.equal(barrier.broken, true);
  barrier.reset();
  const waiting = barrier.wait({ timeout: 10_000 });
  assert.equal(barrier.waiting, 1);
  barrier.reset();
  await assert.rejects(waiting, hasCode(ErrorCodes.BARRIER_BROKEN));
  assert.equal(barrier.broken, false);
  assert.equal(barrier.waiting, 0);
  const p = pool(t, { workers: 1 });
  const arrivals = await Promise.all([barrier.wait({ timeout: 10_000 }), p.run(sync.waitWithin, [barrier, 10_000])]);
  assert.equal(arrivals.filter((a) => a.leader === true).length, 1, JSON.stringify(arrivals));
});

const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ code: error.code }));

test('a party held up after it read the barrier does not change how later rounds ended: a round reset meanwhile fails its parties', async (t) => {
  const p = pool(t, { workers: 1 });
  const barrier = new Barrier(2);
  const control = new Int32Array(new SharedArrayBuffer(8));
  const first = settle(barrier.wait({ timeout: 10_000 }));
  // The worker's party would complete the first round, but is held up after its first read.
  const late = p.run(sync.waitHeldUpAfterRead, [barrier, control.buffer, 10_000]);
  for (let i = 0; i < 1_000 && Atomics.load(control, 0) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(Atomics.load(control, 0), 1, 'the worker\'s party was held up');
  barrier.reset();
  const second = settle(barrier.wait({ timeout: 10_000 }));
  barrier.reset();
  Atomics.store(control, 1, 1);
  Atomics.notify(control, 1);
  // Without yielding, so that `second` looks at how its round ended only after the late party went on.
  for (const until = Date.now() + 10_000; barrier.waiting === 0 && Date.now() < until;);
  assert.deepEqual(await first, { code: ErrorCodes.BARRIER_BROKEN });
  assert.deepEqual(await second, { code: ErrorCodes.BARRIER_BROKEN });
  const [here, there] = await Promise.all([barrier.wait({ timeout: 10_000 }), late]);
  assert.equal([here.leader, there.leader].filter(Boolean).length, 1, JSON.stringify([here, there]));
});

test('a party that does not run while 32,768 rounds end is still told its round broke, and the barrier is whole after reset()', { timeout: 60_000 }, async () => {
  const barrier = new Barrier(2);
  const first = settle(barrier.wait({ timeout: 5_000 }));
  // Its round breaks, then 32,767 more rounds end before it runs again.
  for (let i = 0; i < 16_384; i++) {
    barrier.abort();
    barrier.reset();
  }
  assert.deepEqual(await first, { code: ErrorCodes.BARRIER_BROKEN });
  assert.equal(barrier.broken, false);
  assert.equal(barrier.waiting, 0);
  const arrivals = await Promise.all([barrier.wait({ timeout: 10_000 }), barrier.wait({ timeout: 10_000 })]);
  assert.equal(arrivals.filter((a) => a.leader === true).length, 1, JSON.stringify(arrivals));
});

test('a dead party is not taken for a party of the round 32,768 rounds after its own, however long its note goes unread', async (t) => {
  const p = pool(t, { workers: 1 });
  const pair = new Barrier(2);
  await assert.rejects(p.run(sync.waitThere, [pair], { timeout: 200 }), hasCode(ErrorCodes.TASK_TIMEOUT));
  assert.equal(pair.broken, true);
  // Rounds end by reset() and abort() alone, which read no notes, until the round numbers come round.
  pair.reset();
  for (let i = 0; i < 16_383; i++) {
    pair.abort();
    pair.reset();
  }
  const arrivals = await Promise.all([pair.wait({ timeout: 10_000 }), p.run(sync.waitWithin, [pair, 10_000])]);
  assert.equal(arrivals.filter((a) => a.leader === true).length, 1, JSON.stringify(arrivals));
});
