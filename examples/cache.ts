/**
 * A slow computation made instant on the second run: a DiskCache keeps every result of a
 * task graph, and memoize() keeps a function's results, between runs and between processes.
 * A result's key covers the task's code, so a changed task is never served an old result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DiskCache, ThreadPool, compute, delayed, memoize, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));
const countPrimes = delayed(tasks.countPrimesByTrial);
const total = delayed(function total(counts: number[]) {
  return counts.reduce((sum, n) => sum + n, 0);
});

const LIMIT = 3_000_000;
const PARTS = 6;

/** Primes below LIMIT, counted by trial division in PARTS ranges, then added up. */
function primesGraph() {
  const step = LIMIT / PARTS;
  return total(Array.from({ length: PARTS }, (_, i) => countPrimes(i * step, (i + 1) * step)));
}

/** The nth Fibonacci number, the slow way. */
function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forkjoin-cache-example-'));
  try {
    for (const run of ['first', 'second']) {
      // A new DiskCache and a new pool each time, as the next run of a program would have.
      await using pool = new ThreadPool({ workers: 2 });
      const { value, ms } = await timed(() => compute(primesGraph(), { executor: pool, cache: new DiskCache(dir) }));
      console.log(`${run} run:  ${value.toLocaleString('en')} primes below ${LIMIT.toLocaleString('en')} in ${ms.toFixed(1)} ms, ${pool.stats().done} tasks ran`);
    }

    const cache = new DiskCache(dir);
    for (const run of ['first', 'second']) {
      const fastFib = memoize(fib, { cache });
      const { value, ms } = await timed(() => fastFib(32));
      console.log(`memoize(fib)(32), ${run} call: ${value} in ${ms.toFixed(1)} ms`);
    }
    const { entries, bytes } = cache.stats();
    console.log(`the cache holds ${entries} entries (${bytes} bytes) in ${dir}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
