/** Tasks for the coordination examples: each receives its locks and shared memory as arguments. */
import type { AtomicCounter, Barrier, Mutex, Semaphore } from 'forkjoin';

/** Read, then write back one more: two threads doing this at once lose increments. */
export function unsafeIncrements(cell: Int32Array, start: Barrier, n: number): void {
  start.waitSync();
  for (let i = 0; i < n; i++) {
    // Each read and write is whole (and the compiler cannot merge them across the loop), but
    // another thread's increment can land between the two: then this write undoes it.
    const seen = Atomics.load(cell, 0);
    Atomics.store(cell, 0, seen + 1);
  }
}

/** The same read-modify-write, one thread at a time. */
export function lockedIncrements(cell: Int32Array, mutex: Mutex, start: Barrier, n: number): void {
  start.waitSync();
  for (let i = 0; i < n; i++) {
    using _held = mutex.lockSync();
    cell[0] = cell[0] + 1;
  }
}

/** One atomic add per increment: no lock needed. */
export function atomicIncrements(counter: AtomicCounter, start: Barrier, n: number): void {
  start.waitSync();
  for (let i = 0; i < n; i++) counter.increment();
}

/** Takes `first`, waits until the other task holds its first lock too, then takes `second`. */
export function transfer(first: Mutex, second: Mutex, bothHold: Barrier): string {
  using _a = first.lockSync();
  bothHold.waitSync();
  using _b = second.lockSync();
  return `moved money from ${first.name} to ${second.name}`;
}

/** Uses a resource that admits `permits` users at once; records the most seen together. */
export async function useResource(resource: Semaphore, inside: AtomicCounter, most: AtomicCounter, ms: number): Promise<void> {
  using _permit = await resource.acquire();
  const now = inside.increment();
  for (let seen = most.get(); now > seen && !most.compareAndSet(seen, now); seen = most.get());
  await new Promise((resolve) => setTimeout(resolve, ms));
  inside.decrement();
}
