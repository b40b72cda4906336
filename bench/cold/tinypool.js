// Cold start: a whole process that creates a tinypool pool, runs one task and destroys it.
import { Tinypool } from 'tinypool';

const pool = new Tinypool({ filename: new URL('../tasks/tasks.js', import.meta.url).href, minThreads: 2, maxThreads: 2 });
console.log(await pool.run(3, { name: 'square' }));
await pool.destroy();
