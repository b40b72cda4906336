/**
 * `forkjoin demo`: runs the compiled classic examples (dist/examples) one after another,
 * each under a header with what it shows, then how long it took, then a summary table.
 */
import { nowMs } from '../clock.js';
import { distFile } from '../paths.js';

/** The examples in the order the demo runs them, and what each shows. */
export const demoExamples: ReadonlyArray<{ name: string; shows: string }> = Object.freeze([
  { name: 'squares-threads', shows: 'squares over a ThreadPool: run, map, imap' },
  { name: 'squares-processes', shows: 'squares over a ProcessPool: each task ran in another process' },
  { name: 'start-join', shows: 'one thread and one process, started and joined' },
  { name: 'precomputed', shows: 'pre-computed data reused by every task: a shared sieve, a per-worker setup' },
  { name: 'which-tool', shows: 'which tool for which job: CPU-bound and I/O-bound work, timed four ways' },
  { name: 'graph', shows: "Dask's classic inc/add/sum task graph: built lazily with delayed(), run in parallel by compute()" },
  { name: 'cache', shows: 'a slow computation made instant on the second run: a DiskCache and memoize()' },
  { name: 'race', shows: 'the race condition: a shared counter without a lock, with a Mutex, with an AtomicCounter' },
  { name: 'deadlock', shows: 'the deadlock: two tasks taking two locks in opposite order get a DeadlockError, not a hang' },
  { name: 'semaphore', shows: 'a Semaphore bounding access to a resource' },
  { name: 'cluster', shows: 'the cluster: start 4 engines (and a private redis-server) with Cluster.local, map over them' },
]);

export interface DemoOutcome {
  name: string;
  ok: boolean;
  ms: number;
}

interface Example {
  main(): Promise<void>;
}

function isExample(value: unknown): value is Example {
  return typeof value === 'object' && value !== null && typeof (value as { main?: unknown }).main === 'function';
}

/** Runs the named examples (all by default) and reports each; resolves to their outcomes. */
export async function runDemo(names: readonly string[] = demoExamples.map((e) => e.name)): Promise<DemoOutcome[]> {
  const outcomes: DemoOutcome[] = [];
  for (const name of names) {
    const shows = demoExamples.find((e) => e.name === name)?.shows ?? '';
    console.log(`\n=== ${name}: ${shows}`);
    const start = nowMs();
    let ok = true;
    try {
      const example = await load(name);
      await example.main();
    } catch (error) {
      ok = false;
      console.error(error instanceof MissingExampleError ? `forkjoin demo: ${error.message}` : error);
    }
    const ms = nowMs() - start;
    console.log(`--- ${name} ${ok ? 'finished' : 'FAILED'} in ${formatMs(ms)}`);
    outcomes.push({ name, ok, ms });
  }
  printSummary(outcomes);
  return outcomes;
}

/** The examples were not compiled: a setup problem, reported without a stack trace. */
class MissingExampleError extends Error {}

async function load(name: string): Promise<Example> {
  const url = distFile(`examples/${name}.js`);
  let loaded: unknown;
  try {
    loaded = await import(url.href);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(url.pathname)) {
      throw new MissingExampleError(`the compiled example ${url.pathname} is missing: build the examples with \`npm run build\``);
    }
    throw error;
  }
  if (!isExample(loaded)) throw new TypeError(`The example ${url.pathname} does not export an async function main()`);
  return loaded;
}

function printSummary(outcomes: readonly DemoOutcome[]): void {
  const rows = outcomes.map((o) => [o.name, o.ok ? 'ok' : 'FAILED', formatMs(o.ms)]);
  const total = outcomes.reduce((sum, o) => sum + o.ms, 0);
  const failed = outcomes.filter((o) => !o.ok).length;
  rows.push(['total', failed === 0 ? 'ok' : `${failed} failed`, formatMs(total)]);
  const header = ['example', 'result', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]): string =>
    `  ${(row[0] ?? '').padEnd(widths[0] ?? 0)}  ${(row[1] ?? '').padEnd(widths[1] ?? 0)}  ${(row[2] ?? '').padStart(widths[2] ?? 0)}`;
  console.log('\n=== summary');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(2)} s`;
}
