/**
 * The deadlock: two tasks take two locks in opposite order. Each holds one and
 * waits for the other, which would hang forever; forkjoin refuses the wait that
 * closes the cycle with a DeadlockError, and the other task finishes.
 */
import { Barrier, ErrorCodes, Mutex, ThreadPool, isForkJoinError, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./sync-tasks.js')>(new URL('./sync-tasks.js', import.meta.url));

export async function main(): Promise<void> {
  await using pool = new ThreadPool({ workers: 2 });
  const alice = new Mutex({ name: 'alice' });
  const bob = new Mutex({ name: 'bob' });
  const bothHold = new Barrier(2);
  const outcomes = await Promise.allSettled([
    pool.run(tasks.transfer, [alice, bob, bothHold]),
    pool.run(tasks.transfer, [bob, alice, bothHold]),
  ]);
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') console.log(`finished: ${outcome.value}`);
    else if (isForkJoinError(outcome.reason, ErrorCodes.DEADLOCK)) console.log(`DeadlockError: ${outcome.reason.message}`);
    else throw outcome.reason;
  }
}

runIfMain(import.meta.url, main);
