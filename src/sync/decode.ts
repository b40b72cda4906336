/**
 * The worker runtime's way into the locks: loaded (from the built package's
 * shared chunks) only when a task's arguments hold a lock, so that a worker
 * starts without this code and a task that imports 'forkjoin' meets the very
 * classes the runtime revived.
 */
export { decodeSync } from './index.js';
export { releaseAbandonedLocks } from './mutex.js';
