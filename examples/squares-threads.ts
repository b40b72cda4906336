/** Squares on worker threads: one task with run(), a list with map(), a stream with imap(). */
import { ThreadPool, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));

export async function main(): Promise<void> {
  await using pool = new ThreadPool({ workers: 2 });

  const nine = await pool.run(tasks.square, [3]);
  console.log(`run:  square(3) = ${nine}`);

  const squares = await pool.map(tasks.square, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  console.log(`map:  squares of 1..10 = [${squares.join(', ')}]`);

  const streamed: number[] = [];
  for await (const value of pool.imap(tasks.square, naturals(1_000), { chunksize: 100 })) streamed.push(value);
  const total = streamed.reduce((sum, value) => sum + value, 0);
  console.log(`imap: squares of 1..1000 streamed in order, 100 per message; their sum is ${total}`);

  const cube = await pool.run((x: number) => x * x * x, [3]);
  console.log(`run:  an inline function, shipped by its source: cube(3) = ${cube}`);
  const { done, failed, workers } = pool.stats();
  console.log(`stats(): ${done} tasks done (each run() and each input of a map or imap is one), ${failed} failed, ${workers} worker thread(s) alive`);
}

/** 1, 2, …, n, produced lazily: imap pulls them as workers need them. */
function* naturals(n: number): Generator<number> {
  for (let i = 1; i <= n; i++) yield i;
}

runIfMain(import.meta.url, main);
