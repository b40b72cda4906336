/**
 * forkjoin's locks (Mutex, Semaphore, Barrier, Latch, AtomicCounter) live in this
 * process's shared memory: an engine, on another machine, would get an empty object that
 * locks nothing. The cluster refuses them before sending, naming where they are.
 */
import { CloneError, ErrorCodes } from '../errors.js';
import { findShareable, syncInUse } from '../sync/wire.js';

/**
 * Throws FJ_ARG_NOT_CLONEABLE for the first lock under the `roots` of a job, each with its
 * path (`args`, `inputs[7]`), wherever it sits (a Map, a class instance too). Free while no
 * lock was ever made in this process.
 */
export function refuseLocks(label: string, roots: () => ReadonlyArray<readonly [unknown, string]>): void {
  if (!syncInUse()) return;
  for (const [root, path] of roots()) {
    const found = findShareable(root, path);
    if (found === null) continue;
    throw new CloneError(
      ErrorCodes.ARG_NOT_CLONEABLE,
      `${found.path} is a ${found.what}, a lock in this machine's shared memory, which cannot be sent to an engine: ` +
        'engines run on other machines. Create the lock inside the task, or keep the locking on this machine (a ThreadPool)',
      { path: found.path, task: label },
    );
  }
}
