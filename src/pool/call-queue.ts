/** Queues of work waiting to run, and how many of their items wait. */
import { nowMs } from '../clock.js';
import { Deque } from './deque.js';
import { CallState, type Call, type PoolWorker } from './records.js';

/** Stop adding calls to a message past this many bytes of arguments (one call always goes). */
const MAX_BATCH_BYTES = 1 << 20;
/** Bytes of arguments a worker may hold beyond its first two calls, when they are large. */
const AHEAD_BYTES = 8 << 20;

/**
 * Items waiting in order. An item cancelled while it waits stays in the deque until it is
 * reached (`waits` then says no), so the counts, not the deque's length, say what waits.
 * A map's chunks (`admitted`) are counted apart: a map bounds them itself, and maxQueue
 * limits only the rest.
 */
export class WaitQueue<T extends { readonly admitted: boolean }> {
  readonly #deque = new Deque<T>();
  readonly #waits: (item: T) => boolean;
  #size = 0;
  #chunks = 0;

  constructor(waits: (item: T) => boolean) {
    this.#waits = waits;
  }

  /** Items waiting. */
  get size(): number {
    return this.#size;
  }

  /** Items waiting that are not a map's chunks: what maxQueue limits. */
  get tasks(): number {
    return this.#size - this.#chunks;
  }

  push(item: T): void {
    this.#deque.push(item);
    this.#count(item, 1);
  }

  /** Puts an item back first in line (a retry, or a call its worker's exit gave back). */
  unshift(item: T): void {
    this.#deque.unshift(item);
    this.#count(item, 1);
  }

  /** The item first in line, or one cancelled ahead of it. */
  peek(): T | undefined {
    return this.#deque.peek();
  }

  /** A waiting item was cancelled: it no longer waits (it leaves the deque when reached). */
  cancelled(item: T): void {
    this.#count(item, -1);
  }

  /** The next item that still waits, taken out of the queue; undefined when none does. */
  shift(): T | undefined {
    while (this.#deque.length > 0) {
      const item = this.#deque.shift() as T;
      if (!this.#waits(item)) continue;
      this.#count(item, -1);
      return item;
    }
    return undefined;
  }

  /** Empties the queue: the items still waiting. */
  drain(): T[] {
    const waiting = this.#deque.drain().filter(this.#waits);
    this.#size = 0;
    this.#chunks = 0;
    return waiting;
  }

  #count(item: T, by: 1 | -1): void {
    this.#size += by;
    if (item.admitted) this.#chunks += by;
  }
}

/** The pool's queue of calls waiting for a worker. */
export class CallQueue extends WaitQueue<Call> {
  constructor() {
    super((call) => call.state === CallState.Queued);
  }

  /**
   * Whether `w`, just sent `batch`, should be sent another message now: only when the batch
   * stopped at MAX_BATCH_BYTES (calls with large arguments wait), while `w` holds fewer than
   * two calls or AHEAD_BYTES of arguments. The next call is then copied while the worker reads
   * the last, and no worker hoards the queue.
   */
  moreFor(w: PoolWorker, batch: readonly Call[]): boolean {
    if (this.size === 0) return false;
    let bytes = 0;
    for (const call of batch) bytes += call.bytes;
    return bytes >= MAX_BATCH_BYTES && (w.inflight.size < 2 || w.heldBytes() < AHEAD_BYTES);
  }

  /**
   * Takes up to `room` calls for `w`, as many as fit one message, and marks them sent to it. A call
   * that must run alone goes only to a worker holding nothing, and nothing goes with it.
   */
  take(w: PoolWorker, room: number): Call[] {
    const batch: Call[] = [];
    const now = nowMs();
    let bytes = 0;
    while (room > 0 && bytes < MAX_BATCH_BYTES) {
      const call = this.shift();
      if (call === undefined) break;
      if (call.alone && w.load > 0) {
        this.unshift(call);
        break;
      }
      if (call.alone) room = 1;
      call.state = CallState.Sent;
      call.sentAt = now;
      call.worker = w;
      w.inflight.set(call.id, call);
      batch.push(call);
      bytes += call.bytes;
      room--;
    }
    return batch;
  }
}
