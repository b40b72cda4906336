// Redis away for longer than BullMQ's blocking timeout (its issue #4585): do engines resume?
import { Cluster, taskModule } from 'forkjoin';
import { startEngine, startRedis, stop, tasksUrl } from '../../test/fixtures/cluster/harness.js';
const tasks = taskModule(tasksUrl);
const redis = await startRedis({ persist: true });
const engines = [];
let cluster;
try {
  for (const name of ['o1', 'o2']) engines.push(await startEngine(redis.url, { name }));
  cluster = await Cluster.connect({ redis: redis.url, minEngines: 2 });
  console.log(await cluster.run(tasks.square, [3]));
  await redis.stopServer();
  const away = Number(process.argv[2] ?? 8000);
  await new Promise((r) => setTimeout(r, away));
  await redis.start();
  const t = Date.now();
  const out = await Promise.race([cluster.map(tasks.square, Array.from({ length: 100 }, (_, i) => i), { chunksize: 1 }), new Promise((r) => setTimeout(() => r('TIMEOUT'), 30_000))]);
  console.log(`after ${away} ms away:`, out === 'TIMEOUT' ? 'TIMEOUT (engines did not resume)' : `ok in ${Date.now() - t} ms`);
} finally {
  await cluster?.terminate();
  for (const e of engines) await stop(e, 'SIGKILL');
  await redis.stop();
}
