// Cold start: a whole process that creates a forkjoin ProcessPool, runs one task and closes it.
import { ProcessPool, taskModule } from 'forkjoin';

const tasks = taskModule(new URL('../tasks/tasks.js', import.meta.url));
const pool = new ProcessPool({ workers: 2, minWorkers: 2 });
console.log(await pool.run(tasks.square, [3]));
await pool.close();
