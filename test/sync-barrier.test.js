// Coordination between threads: barriers, their rounds, and parties that time out or die.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AtomicCounter, Barrier, ErrorCodes, ThreadPool, isForkJoinError, taskModule,
} from 'forkjoin';

const sync = taskModule(new URL('./fixtures/sync-tasks.js', import.meta.url));

function pool(t, options = {}) {
  const p = new ThreadPool({ workers: 4, ...options });
  t.after(() => p.terminate());
  return p;
}

const hasCode = (code) => (err) => isForkJoinError(err, code);

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
