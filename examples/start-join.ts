/**
 * One thread and one process, started and joined: Python's Thread/Process start() and join().
 * submit() starts a task and returns a Job at once; awaiting the Job joins it.
 */
import { ProcessPool, ThreadPool, taskModule } from 'forkjoin';
import { threadId } from 'node:worker_threads';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url));

export async function main(): Promise<void> {
  await using threads = new ThreadPool({ workers: 1 });
  await using processes = new ProcessPool({ workers: 1 });

  // start(): both run at the same time, while this thread goes on.
  const inThread = threads.submit(tasks.whereAmI, ['thread', 200]);
  const inProcess = processes.submit(tasks.whereAmI, ['process', 200]);
  console.log(`started job ${inThread.id} on a thread and job ${inProcess.id} in a process; states now: ${inThread.state}, ${inProcess.state}`);

  // join(): wait for both.
  const [thread, child] = await Promise.all([inThread, inProcess]);
  console.log(`joined both; states now: ${inThread.state}, ${inProcess.state}`);
  console.log(`  main:    pid ${process.pid}, thread ${threadId}`);
  console.log(`  thread:  pid ${thread.pid}, thread ${thread.threadId} (same process, another thread)`);
  console.log(`  process: pid ${child.pid}, thread ${child.threadId} (another process, its main thread: ${child.isMainThread})`);
}

runIfMain(import.meta.url, main);
