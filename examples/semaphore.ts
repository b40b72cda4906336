/** A Semaphore bounding access to a resource: 12 tasks, at most 3 inside at once. */
import { AtomicCounter, Semaphore, ThreadPool, taskModule } from 'forkjoin';
import { runIfMain } from './run-if-main.js';

const tasks = taskModule<typeof import('./sync-tasks.js')>(new URL('./sync-tasks.js', import.meta.url));

export async function main(): Promise<void> {
  await using pool = new ThreadPool({ workers: 2, concurrentTasksPerWorker: 6 });
  const connections = new Semaphore(3);
  const inside = new AtomicCounter();
  const most = new AtomicCounter();
  await Promise.all(Array.from({ length: 12 }, () => pool.run(tasks.useResource, [connections, inside, most, 20])));
  console.log(`12 tasks on 2 threads (6 at a time each) shared a resource that admits 3: at most ${most.get()} used it at once`);
  using _mine = await connections.acquire();
  console.log(`the main thread took a permit too, without blocking its event loop: ${connections.available} left`);
}

runIfMain(import.meta.url, main);
