/**
 * Dask's classic example as a forkjoin task graph: `inc`, `add` and `sum`, wrapped by
 * `delayed()` so that calling them builds a graph instead of running; `compute()` then
 * runs every node whose inputs exist at once, on a thread pool.
 */
import { ThreadPool, compute, delayed, toMermaid, type Delayed, type GraphEvent } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

// Inline functions are shipped to the workers by their source: they must be self-contained.
const inc = delayed(function inc(x: number) {
  return x + 1;
});
const add = delayed(function add(x: number, y: number) {
  return x + y;
});
const sum = delayed(function sum(values: number[]) {
  return values.reduce((total, x) => total + x, 0);
});

export async function main(): Promise<void> {
  await using pool = new ThreadPool({ workers: 2 });

  // x = inc(1); y = inc(2); z = add(x, y)
  const x = inc(1);
  const y = inc(2);
  const z = add(x, y);
  console.log(`z = add(inc(1), inc(2)) is the node ${z.key}: nothing has run yet`);
  console.log(`compute(z) = ${await compute(z, { executor: pool })}`);

  // A list of delayed values, reduced by one task: sum(data.map(inc)).
  const data = [1, 2, 3, 4, 5, 6, 7, 8];
  const total = sum(data.map((n) => inc(n)));
  console.log(`sum(data.map(inc)) over ${data.length} numbers = ${await compute(total, { executor: pool })}`);

  // A tree reduction: the inputs added pairwise, level by level, every level in parallel.
  let level: Array<Delayed<number>> = data.map((n) => inc(n));
  while (level.length > 1) {
    const next: Array<Delayed<number>> = [];
    for (let i = 0; i < level.length; i += 2) next.push(add(level[i], level[i + 1]));
    level = next;
  }
  const events: GraphEvent[] = [];
  const tree = await compute(level[0], { executor: pool, onEvent: (e) => events.push(e) });
  const ran = events.filter((e) => e.type === 'finished').length;
  console.log(`the same sum as a tree of ${ran} nodes: ${tree}`);

  // The same call made twice is one node (its key is a hash of the task and its arguments).
  const shared = inc(41);
  const twice = add(shared, inc(41));
  const counted: GraphEvent[] = [];
  await compute(twice, { executor: pool, onEvent: (e) => counted.push(e) });
  console.log(`add(inc(41), inc(41)) ran ${counted.filter((e) => e.type === 'started').length} tasks: inc(41) once, add once`);

  console.log('\nthe graph of z, for a Markdown page that renders Mermaid:');
  console.log(toMermaid(z).trimEnd());
}

runIfMain(import.meta.url, main);
