// Cold start: a whole process that creates a piscina pool, runs one task and destroys it.
import { Piscina } from 'piscina';

const pool = new Piscina({ filename: new URL('../tasks/tasks.js', import.meta.url).href, minThreads: 2, maxThreads: 2 });
console.log(await pool.run(3, { name: 'square' }));
await pool.destroy();
