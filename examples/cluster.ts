/**
 * The classic cluster example: start 4 engines, map over them. Cluster.local() starts the
 * engines on this machine (and a private redis-server); on many machines the same code runs
 * with `Cluster.connect({ redis })` after `forkjoin engine --redis URL` on each of them.
 */
import { Cluster, isForkJoinError, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));

export async function main(): Promise<void> {
  let cluster: Cluster;
  try {
    cluster = await Cluster.local({ engines: 4 });
  } catch (error) {
    if (isForkJoinError(error, 'FJ_REDIS_UNAVAILABLE')) {
      console.log(`skipped: ${error.message}`);
      return;
    }
    throw error;
  }
  await using _ = cluster;

  const engines = await cluster.engines();
  console.log(`4 engines up: ${engines.map((e) => `${e.name.split('-').at(-1)} (pid ${e.pid})`).join(', ')}`);

  const squares = await cluster.map(tasks.square, Array.from({ length: 1_000 }, (_, i) => i));
  console.log(`map:  1,000 squares over the engines; the last is ${squares.at(-1)}`);

  const who = await cluster.map(tasks.squareWithPid, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1 });
  console.log(`map:  chunks of 1 ran on ${new Set(who.map((w) => w.pid)).size} engine process(es)`);

  const hello = await cluster.broadcast((greeting: string) => `${greeting} from pid ${process.pid}`, ['hello']);
  for (const h of hello) console.log(`broadcast: ${h.engine.split('-').at(-1)}: ${h.status === 'fulfilled' ? h.value : String(h.reason)}`);
}

runIfMain(import.meta.url, main);
