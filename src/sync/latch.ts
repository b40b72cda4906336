/** A countdown latch shared by every thread it is passed to: wait() returns once the count reaches zero. */
import { countArgument, integerOption } from '../options.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type WaitOptions } from './wait.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

/** Lets threads wait until `count` events have happened (countDown() once each). */
export class Latch implements Shareable {
  readonly #words: Int32Array;

  constructor(count: number);
  constructor(count: number | Adopted) {
    markInUse();
    if (count instanceof Adopted) {
      this.#words = new Int32Array(count.record.buffer as SharedArrayBuffer);
      return;
    }
    integerOption('new Latch()', 'count', count, 0, 0x7fffffff);
    this.#words = new Int32Array(new SharedArrayBuffer(4));
    this.#words[0] = count;
  }

  /** Events still awaited (a snapshot). */
  get count(): number {
    return Atomics.load(this.#words, 0);
  }

  /** Records `n` events; at zero every waiter is released. Never goes below zero. */
  countDown(n = 1): void {
    countArgument('Latch.countDown()', n, 0x7fffffff);
    const w = this.#words;
    for (;;) {
      const seen = Atomics.load(w, 0);
      if (seen === 0) return;
      const next = Math.max(0, seen - n);
      if (Atomics.compareExchange(w, 0, seen, next) !== seen) continue;
      if (next === 0) Atomics.notify(w, 0);
      return;
    }
  }

  /** Waits for zero without blocking the event loop. */
  async wait(options?: WaitOptions): Promise<void> {
    const until = deadline('Latch.wait()', options, false);
    for (let seen = Atomics.load(this.#words, 0); seen > 0; seen = Atomics.load(this.#words, 0)) {
      if (!(await waitAsync(this.#words, 0, seen, until))) throw timeoutError('Latch.wait()', until.timeout);
    }
  }

  /** Waits for zero, blocking this worker thread (not allowed on the main thread). */
  waitSync(options?: Omit<WaitOptions, 'signal'>): void {
    assertMayBlock('Latch.waitSync()');
    // Options are checked before the quick path, which stays free of the deadline's cost.
    const checked = options === undefined ? null : deadline('Latch.waitSync()', options, true);
    if (Atomics.load(this.#words, 0) === 0) return;
    const until = checked ?? deadline('Latch.waitSync()', options, true);
    for (let seen = Atomics.load(this.#words, 0); seen > 0; seen = Atomics.load(this.#words, 0)) {
      if (!waitSync(this.#words, 0, seen, until)) throw timeoutError('Latch.waitSync()', until.timeout);
    }
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('Latch', { buffer: this.#words.buffer });
  }
}

registerKind('Latch', Latch, (record) => new Latch(new Adopted(record) as unknown as number));
