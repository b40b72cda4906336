// Cold start: a whole process that creates a workerpool pool, runs one task and terminates it.
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';

const pool = workerpool.pool(fileURLToPath(new URL('../tasks/workerpool-worker.js', import.meta.url)), {
  minWorkers: 2, maxWorkers: 2, workerType: 'thread',
});
console.log(await pool.exec('square', [3]));
await pool.terminate();
