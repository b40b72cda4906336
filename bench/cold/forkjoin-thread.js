// Cold start: a whole process that creates a forkjoin ThreadPool, runs one task and closes it.
import { ThreadPool, taskModule } from 'forkjoin';

const tasks = taskModule(new URL('../tasks/tasks.js', import.meta.url));
const pool = new ThreadPool({ workers: 2, minWorkers: 2 });
console.log(await pool.run(tasks.square, [3]));
await pool.close();
