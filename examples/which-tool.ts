/**
 * Which tool for which job: a CPU-bound job and an I/O-bound job, each timed sequentially,
 * with LocalExecutor, with a ThreadPool and with a ProcessPool.
 * CPU-bound work gains from more cores (pools), not from more concurrency in one thread;
 * I/O-bound work gains from concurrency, which LocalExecutor gives without workers or copies.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LocalExecutor, ProcessPool, ThreadPool, taskModule, type Executor } from 'forkjoin';
import { runIfMain } from './run-if-main.js';
import * as direct from './tasks.js';

const tasksUrl = new URL('./tasks.js', import.meta.url);
const tasks = taskModule<typeof import('./tasks.js')>(tasksUrl);

const WORKERS = 2;
const cpuInputs: Array<[number, number]> = Array.from({ length: 16 }, (_, i) => [1_000_000 + i * 100_000, 1_100_000 + i * 100_000]);
const ioInputs: Array<[number, string]> = Array.from({ length: 20 }, () => [50, fileURLToPath(import.meta.url)]);

type Tool = 'sequential' | 'LocalExecutor' | 'ThreadPool' | 'ProcessPool';
const tools: Tool[] = ['sequential', 'LocalExecutor', 'ThreadPool', 'ProcessPool'];

export async function main(): Promise<void> {
  const cpu = new Map<Tool, number>();
  const io = new Map<Tool, number>();

  direct.countPrimesByTrial(0, 200_000); // warm up the JIT, as the workers are warmed up below
  cpu.set('sequential', await time(async () => { for (const [lo, hi] of cpuInputs) direct.countPrimesByTrial(lo, hi); }));
  io.set('sequential', await time(async () => { for (const [ms, path] of ioInputs) await direct.fetchLike(ms, path); }));
  {
    await using local = new LocalExecutor({ concurrency: 20 });
    cpu.set('LocalExecutor', await timeOn(local, 'cpu'));
    io.set('LocalExecutor', await timeOn(local, 'io'));
  }
  for (const [tool, Pool] of [['ThreadPool', ThreadPool], ['ProcessPool', ProcessPool]] as const) {
    {
      await using pool = new Pool({ workers: WORKERS });
      cpu.set(tool, await timeOn(pool, 'cpu'));
    }
    {
      await using pool = new Pool({ workers: WORKERS, concurrentTasksPerWorker: 10 });
      io.set(tool, await timeOn(pool, 'io'));
    }
  }

  console.log(`${cpuInputs.length} CPU-bound tasks (count primes in 100,000 numbers) and ${ioInputs.length} I/O-bound tasks (wait 50 ms, read a file);`);
  console.log(`pools of ${WORKERS} workers (I/O pools run 10 tasks at once per worker), started before timing; ${availableParallelism()} cores here`);
  printTable([['CPU-bound', cpu], ['I/O-bound', io]]);
  console.log('CPU-bound: only the pools use more cores (less so while other programs keep them busy); LocalExecutor runs one task at a time in this thread, no faster.');
  console.log('I/O-bound: waiting needs no core, so LocalExecutor overlaps the waits in this thread, as fast as a pool and with nothing copied.');
}

/** Runs the job's tasks all at once on `executor`, after a warm-up as wide as the job, which starts every worker. */
async function timeOn(executor: Executor, job: 'cpu' | 'io'): Promise<number> {
  if (job === 'cpu') {
    await Promise.all(Array.from({ length: WORKERS }, () => executor.run(tasks.countPrimesByTrial, [0, 200_000])));
    return time(() => Promise.all(cpuInputs.map((args) => executor.run(tasks.countPrimesByTrial, args))));
  }
  await Promise.all(ioInputs.map(([, path]) => executor.run(tasks.fetchLike, [1, path])));
  return time(() => Promise.all(ioInputs.map((args) => executor.run(tasks.fetchLike, args))));
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function printTable(rows: Array<[string, Map<Tool, number>]>): void {
  const cell = (ms: number, base: number): string => `${Math.round(ms)} ms (${(base / ms).toFixed(1)}×)`;
  const table = [['job', ...tools], ...rows.map(([job, times]) => {
    const base = times.get('sequential') ?? 0;
    return [job, ...tools.map((tool) => cell(times.get(tool) ?? Number.NaN, base))];
  })];
  const widths = tools.map((_, i) => Math.max(...table.map((row) => row[i + 1]?.length ?? 0)));
  const jobWidth = Math.max(...table.map((row) => row[0]?.length ?? 0));
  for (const row of table) {
    console.log(`  ${(row[0] ?? '').padEnd(jobWidth)}  ${row.slice(1).map((text, i) => text.padStart(widths[i] ?? 0)).join('  ')}`);
  }
}

runIfMain(import.meta.url, main);
