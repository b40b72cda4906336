/**
 * The examples' task module: each export is a task a worker can run.
 *
 * It is TypeScript: under `npx tsx examples/…` every worker loads it through the caller's tsx
 * (a ThreadPool's threads register tsx's hooks, a ProcessPool's children and Cluster.local's
 * engines inherit its flags). Callers name it './tasks.js', which tsx maps to this file:
 * `taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url))`.
 */
import { isMainThread, threadId } from 'node:worker_threads';

/** x². */
export function square(x: number) {
  return x * x;
}

/** x², with the id of the process that computed it. */
export function squareWithPid(x: number) {
  return { x, square: x * x, pid: process.pid };
}

/** Where this task runs: process, thread, and whether that is a main thread. */
export async function whereAmI(label: string, ms: number) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { label, pid: process.pid, threadId, isMainThread };
}

/** How many primes lie in [lo, hi), read from a sieve computed beforehand (1 = prime). */
export function countPrimesInSieve(sieve: Uint8Array, lo: number, hi: number) {
  let count = 0;
  for (let i = lo; i < hi; i++) count += sieve[i];
  return { count, shared: sieve.buffer instanceof SharedArrayBuffer };
}

/** Smallest prime factor of each n ≤ limit, built once per worker by setup. */
let smallestFactor: Int32Array | null = null;
let tablesBuilt = 0;

/** Setup task: builds this worker's table of smallest prime factors. */
export function buildFactorTable(limit: number) {
  const table = new Int32Array(limit + 1);
  for (let i = 2; i <= limit; i++) {
    if (table[i] !== 0) continue;
    for (let j = i; j <= limit; j += i) if (table[j] === 0) table[j] = i;
  }
  smallestFactor = table;
  tablesBuilt++;
}

/** The prime factors of n, read from the table that setup built in this worker. */
export function factorize(n: number) {
  const table = smallestFactor;
  if (table === null || n >= table.length) throw new RangeError(`factorize(${n}): the factor table was not built for this n`);
  const factors: number[] = [];
  for (let m = n; m > 1; m /= table[m]) factors.push(table[m]);
  return { n, factors, threadId, tablesBuilt };
}

/** CPU-bound: the number of primes in [lo, hi), by trial division. */
export function countPrimesByTrial(lo: number, hi: number) {
  let count = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** I/O-bound: waits `ms` (a stand-in for a network call), then reads a small file. */
export async function fetchLike(ms: number, path: string) {
  const { readFile } = await import('node:fs/promises');
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await readFile(path)).byteLength;
}
