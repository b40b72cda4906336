/**
 * A mark on the prototype of every primitive (Mutex, Semaphore, Barrier, ...), by which code in
 * any of forkjoin's bundled scripts tells one from another class's instance: a lock has no
 * content to compare, only its identity (graph keys, canonical.ts).
 */
export const LOCK_TAG = Symbol.for('forkjoin.lock');

/**
 * Where a pool's worker runtime listens, on globalThis, for the function that releases the mutexes finished
 * tasks left locked: each instance of the library hands it over with the first mutex made or received in the
 * thread (mutex.ts), so that a worker that never meets one pays nothing per task.
 */
export const LOCKS_LEFT = Symbol.for('forkjoin.locksLeft');

export function isLock(value: object): boolean {
  return (value as { [LOCK_TAG]?: unknown })[LOCK_TAG] === true;
}
