// Cold start: a whole process that creates a poolifier FixedThreadPool, runs one task and destroys it.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FixedThreadPool, PoolEvents } from 'poolifier';

const pool = new FixedThreadPool(2, fileURLToPath(new URL('../tasks/poolifier-worker.js', import.meta.url)));
console.log(await pool.execute(3, 'square'));
// destroy() never settles while a worker is still starting: wait until the pool is ready.
if (!pool.info.ready) await once(pool.emitter, PoolEvents.ready);
await pool.destroy();
