/**
 * The jobs a cluster client has not sent yet. What one turn submits goes out together,
 * ADD_BATCH jobs per addBulk and one addBulk per turn after that, so engines start on the
 * first jobs while the rest are still being encoded and sent; a job withdrawn before it
 * went out (a cancel, terminate) is skipped, in O(1).
 */
import type { JobData } from './wire.js';

/** Jobs per addBulk. */
const ADD_BATCH = 500;

export interface QueuedAdd { queue: string; id: string; name: string; data: JobData }

export class UnsentJobs {
  readonly #send: (queue: string, adds: QueuedAdd[]) => void;
  #adds: QueuedAdd[] = [];
  /** Ids in #adds not withdrawn yet. */
  readonly #unsent = new Set<string>();

  /** `send` adds the jobs of one queue (one addBulk). */
  constructor(send: (queue: string, adds: QueuedAdd[]) => void) {
    this.#send = send;
  }

  /** Jobs waiting to go out. */
  get size(): number {
    return this.#unsent.size;
  }

  push(add: QueuedAdd): void {
    if (this.#adds.length === 0) queueMicrotask(() => this.#flush());
    this.#adds.push(add);
    this.#unsent.add(add.id);
  }

  /** Keeps a job from going out; false when it went out already. */
  withdraw(id: string): boolean {
    return this.#unsent.delete(id);
  }

  clear(): void {
    this.#adds = [];
    this.#unsent.clear();
  }

  #flush(): void {
    let adds = this.#adds;
    if (adds.length > ADD_BATCH) {
      adds = adds.splice(0, ADD_BATCH);
      setImmediate(() => this.#flush());
    } else {
      this.#adds = [];
    }
    const byQueue = new Map<string, QueuedAdd[]>();
    for (const a of adds) {
      if (!this.#unsent.delete(a.id)) continue;
      const list = byQueue.get(a.queue);
      if (list === undefined) byQueue.set(a.queue, [a]);
      else list.push(a);
    }
    for (const [queue, list] of byQueue) this.#send(queue, list);
  }
}
