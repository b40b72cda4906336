/**
 * Pre-computed data reused by every task, two ways:
 * 1. computed once here, in a SharedArrayBuffer that every worker reads in place (shared, not copied);
 * 2. computed once in each worker by the pool's `setup` task, then used by every task that worker runs.
 */
import { ThreadPool, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));

const LIMIT = 2_000_000;
const RANGES = 8;

export async function main(): Promise<void> {
  const sieve = primeSieve(LIMIT);
  {
    await using pool = new ThreadPool({ workers: 2 });
    const step = LIMIT / RANGES;
    const ranges = Array.from({ length: RANGES }, (_, i): [Uint8Array, number, number] => [sieve, i * step, (i + 1) * step]);
    const counts = await pool.starmap(tasks.countPrimesInSieve, ranges, { chunksize: 1 });
    const total = counts.reduce((sum, { count }) => sum + count, 0);
    console.log(`sieve of ${LIMIT.toLocaleString('en')} numbers computed once, in a ${sieve.byteLength / 1e6} MB SharedArrayBuffer`);
    console.log(`primes counted in ${RANGES} ranges on 2 threads: ${counts.map(({ count }) => count).join(' + ')} = ${total}`);
    console.log(`every worker read the sieve in place (shared, not copied): ${counts.every(({ shared }) => shared)}`);
  }
  {
    await using pool = new ThreadPool({ workers: 2, setup: { task: tasks.buildFactorTable, args: [1_000_000] } });
    const numbers = Array.from({ length: 1_000 }, (_, i) => 999_001 + i);
    const results = await pool.map(tasks.factorize, numbers, { chunksize: 50 });
    const last = results[results.length - 1];
    const workers = new Map(results.map((r) => [r.threadId, r.tablesBuilt]));
    console.log(`setup built a factor table once in each worker, then ${results.length} tasks used it`);
    console.log(`  e.g. ${last?.n} = ${last?.factors.join(' × ')}`);
    for (const [threadId, built] of workers) console.log(`  worker thread ${threadId}: table built ${built} time(s)`);
  }
}

/** sieve[n] = 1 when n is prime, for n < limit, in memory that workers share. */
function primeSieve(limit: number): Uint8Array {
  const sieve = new Uint8Array(new SharedArrayBuffer(limit)).fill(1, 2);
  for (let i = 2; i * i < limit; i++) {
    if (sieve[i] === 0) continue;
    for (let j = i * i; j < limit; j += i) sieve[j] = 0;
  }
  return sieve;
}

runIfMain(import.meta.url, main);
