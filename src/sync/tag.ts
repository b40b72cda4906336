/**
 * A mark on the prototype of every primitive (Mutex, Semaphore, Barrier, ...), by which code in
 * any of forkjoin's bundled scripts tells one from another class's instance: a lock has no
 * content to compare, only its identity (graph keys, canonical.ts).
 */
export const LOCK_TAG = Symbol.for('forkjoin.lock');

export function isLock(value: object): boolean {
  return (value as { [LOCK_TAG]?: unknown })[LOCK_TAG] === true;
}
