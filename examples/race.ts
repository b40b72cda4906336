/**
 * The race condition: two threads add to one shared counter. Without a lock they
 * lose increments; with a Mutex, or with an AtomicCounter, they lose none.
 */
import { AtomicCounter, Barrier, Mutex, ThreadPool, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./sync-tasks.js')>(new URL('./sync-tasks.js', import.meta.url));
const N = 1_000_000;

export async function main(): Promise<void> {
  await using pool = new ThreadPool({ workers: 2 });

  const unsafe = new Int32Array(new SharedArrayBuffer(4));
  let start = new Barrier(2);
  await Promise.all([0, 1].map(() => pool.run(tasks.unsafeIncrements, [unsafe, start, N])));
  console.log(`no lock:        ${unsafe[0].toLocaleString('en-US')} of ${(2 * N).toLocaleString('en-US')} (${(2 * N - unsafe[0]).toLocaleString('en-US')} increments lost)`);

  const locked = new Int32Array(new SharedArrayBuffer(4));
  const mutex = new Mutex({ name: 'counter' });
  start = new Barrier(2);
  const lockedN = N / 10;
  await Promise.all([0, 1].map(() => pool.run(tasks.lockedIncrements, [locked, mutex, start, lockedN])));
  console.log(`Mutex:          ${locked[0].toLocaleString('en-US')} of ${(2 * lockedN).toLocaleString('en-US')} (none lost)`);

  const counter = new AtomicCounter();
  start = new Barrier(2);
  await Promise.all([0, 1].map(() => pool.run(tasks.atomicIncrements, [counter, start, N])));
  console.log(`AtomicCounter:  ${counter.get().toLocaleString('en-US')} of ${(2 * N).toLocaleString('en-US')} (none lost)`);
}

runIfMain(import.meta.url, main);
