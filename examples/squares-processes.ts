/** Squares in child processes: each result carries the pid of the process that computed it. */
import { ProcessPool, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));

export async function main(): Promise<void> {
  await using pool = new ProcessPool({ workers: 2 });

  const results = await pool.map(tasks.squareWithPid, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1 });
  for (const { x, square, pid } of results) console.log(`square(${x}) = ${square}  (pid ${pid})`);

  const pids = new Set(results.map((result) => result.pid));
  const others = pids.size === 1 ? '1 other process' : `${pids.size} other processes`;
  console.log(`this process is pid ${process.pid}; the squares were computed by ${others}: ${[...pids].join(', ')}`);
}

runIfMain(import.meta.url, main);
