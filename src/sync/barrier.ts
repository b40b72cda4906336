/**
 * A barrier for `parties` threads: each wait() returns once all have arrived,
 * then the barrier resets for the next round. The round and the count of
 * arrivals share one word, so a party that times out withdraws atomically.
 */
import { integerOption } from '../options.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type WaitOptions } from './wait.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

const COUNT_BITS = 16;
const COUNT_MASK = (1 << COUNT_BITS) - 1;

export interface BarrierArrival {
  /** True for exactly one party per round: the last to arrive. */
  leader: boolean;
}

/** Makes `parties` threads wait for each other, round after round. */
export class Barrier implements Shareable {
  readonly #words: Int32Array;
  readonly #parties: number;

  constructor(parties: number);
  constructor(parties: number | Adopted) {
    markInUse();
    if (parties instanceof Adopted) {
      this.#words = new Int32Array(parties.record.buffer as SharedArrayBuffer);
      this.#parties = parties.record.parties as number;
      return;
    }
    this.#parties = integerOption('new Barrier()', 'parties', parties, 1, COUNT_MASK);
    this.#words = new Int32Array(new SharedArrayBuffer(4));
  }

  get parties(): number {
    return this.#parties;
  }

  /** Parties waiting in the current round (a snapshot). */
  get waiting(): number {
    return Atomics.load(this.#words, 0) & COUNT_MASK;
  }

  /** Arrives; returns the round's word, or the leader's mark when this arrival completed the round. */
  #arrive(): { word: number; leader: boolean } {
    const w = this.#words;
    for (;;) {
      const word = Atomics.load(w, 0);
      const count = (word & COUNT_MASK) + 1;
      const round = word >>> COUNT_BITS;
      const next = count === this.#parties ? (((round + 1) & 0xffff) << COUNT_BITS) : (round << COUNT_BITS) | count;
      if (Atomics.compareExchange(w, 0, word, next | 0) !== word) continue;
      if (count === this.#parties) {
        Atomics.notify(w, 0);
        return { word: next, leader: true };
      }
      return { word: next | 0, leader: false };
    }
  }

  /**
   * The barrier's word now, or null once the round that `word` belongs to is over. A waiter
   * sleeps on exactly the word it checked: had it read the word again after the check, the
   * leader's notify could fall in between, and it would sleep through the round's end.
   */
  #current(word: number): number | null {
    const now = Atomics.load(this.#words, 0);
    return now >>> COUNT_BITS !== word >>> COUNT_BITS ? null : now;
  }

  /** Leaves the round (after a timeout or an abort); false when the round completed meanwhile. */
  #withdraw(word: number): boolean {
    const w = this.#words;
    for (;;) {
      const now = Atomics.load(w, 0);
      if (now >>> COUNT_BITS !== word >>> COUNT_BITS) return false;
      if (Atomics.compareExchange(w, 0, now, now - 1) === now) return true;
    }
  }

  /** Waits for every party without blocking the event loop. */
  async wait(options?: WaitOptions): Promise<BarrierArrival> {
    const until = deadline('Barrier.wait()', options, false);
    const arrival = this.#arrive();
    if (arrival.leader) return { leader: true };
    for (let seen = this.#current(arrival.word); seen !== null; seen = this.#current(arrival.word)) {
      let inTime: boolean;
      try {
        inTime = await waitAsync(this.#words, 0, seen, until);
      } catch (aborted) {
        if (this.#withdraw(arrival.word)) throw aborted;
        break;
      }
      if (!inTime && this.#withdraw(arrival.word)) throw timeoutError('Barrier.wait()', until.timeout);
    }
    return { leader: false };
  }

  /** Waits for every party, blocking this worker thread (not allowed on the main thread). */
  waitSync(options?: Omit<WaitOptions, 'signal'>): BarrierArrival {
    assertMayBlock('Barrier.waitSync()');
    // Options are checked before the quick path (the last party), which stays free of the deadline's cost.
    const checked = options === undefined ? null : deadline('Barrier.waitSync()', options, true);
    const arrival = this.#arrive();
    if (arrival.leader) return { leader: true };
    const until = checked ?? deadline('Barrier.waitSync()', options, true);
    for (let seen = this.#current(arrival.word); seen !== null; seen = this.#current(arrival.word)) {
      if (!waitSync(this.#words, 0, seen, until) && this.#withdraw(arrival.word)) throw timeoutError('Barrier.waitSync()', until.timeout);
    }
    return { leader: false };
  }

  toRecord(): SyncRecord {
    return makeRecord('Barrier', { buffer: this.#words.buffer, parties: this.#parties });
  }
}

registerKind('Barrier', Barrier, (record) => new Barrier(new Adopted(record) as unknown as number));
