/** Coordination between threads: every primitive, registered so it can cross to a worker. */
export { Mutex, MutexLock } from './mutex.js';
export type { MutexOptions } from './mutex.js';
export { Semaphore, Permit } from './semaphore.js';
export { Barrier } from './barrier.js';
export type { BarrierArrival } from './barrier.js';
export { Latch } from './latch.js';
export { AtomicCounter } from './counter.js';
export type { WaitOptions } from './wait.js';
export { encodeSync, decodeSync } from './wire.js';
export { registry, existingRegistry, adoptRegistry } from './registry.js';
