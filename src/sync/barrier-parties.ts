/**
 * Who waits at a barrier, by thread: under each slot of the lock registry, the barrier's memory
 * holds a note [thread + 1, round + 1, how many of that thread's parties the round counts]. A
 * thread may have several parties waiting at once (async waits, concurrentTasksPerWorker), so
 * the note counts them: one withdrawing leaves the others noted. A party whose thread died
 * (the registry frees a dead thread's slot, and marks one its pool is stopping) can never
 * arrive again: its round must break rather than wait for it or pass without it.
 */
import { threadId } from 'node:worker_threads';
import { existingRegistry, type Registry } from './registry.js';

/** A thread with a registry slot: the only kind whose death its parties can see. */
export interface Party {
  reg: Registry;
  slot: number;
}

const NOTE_WORDS = 3;
const SLOTS = 1024;

/** The words the notes take, after `at` in a barrier's memory (one more: how many slots have notes). */
export const PARTIES_WORDS = 1 + SLOTS * NOTE_WORDS;

export class Parties {
  readonly #w: Int32Array;
  readonly #noted: number;

  /** The notes in `words`, from `at`. */
  constructor(words: Int32Array, at: number) {
    this.#w = words;
    this.#noted = at;
  }

  #at(slot: number): number {
    return this.#noted + 1 + slot * NOTE_WORDS;
  }

  /** Notes one more party of this thread in `round`: before the barrier counts it, so that no party is ever counted unnoted. */
  add(me: Party, round: number): void {
    const w = this.#w;
    const at = this.#at(me.slot);
    if (Atomics.load(w, at) === threadId + 1 && Atomics.load(w, at + 1) === round + 1) {
      Atomics.add(w, at + 2, 1);
      return;
    }
    // A note of an earlier round (over: this thread arrives in a later one) or of a thread that had the slot before.
    // Its thread word is cleared while it is rewritten, so that no reader mixes the two notes (see hasDead).
    Atomics.store(w, at, 0);
    Atomics.store(w, at + 1, round + 1);
    Atomics.store(w, at + 2, 1);
    Atomics.store(w, at, threadId + 1);
    for (let noted = Atomics.load(w, this.#noted); noted <= me.slot; noted = Atomics.load(w, this.#noted)) {
      if (Atomics.compareExchange(w, this.#noted, noted, me.slot + 1) === noted) break;
    }
  }

  /** One party of this thread noted in `round` left it: withdrew, or its round ended. */
  remove(me: Party, round: number): void {
    const w = this.#w;
    const at = this.#at(me.slot);
    // Rewritten for a later round meanwhile (another party of this thread): `round` is over, nothing to undo.
    if (Atomics.load(w, at) === threadId + 1 && Atomics.load(w, at + 1) === round + 1) Atomics.sub(w, at + 2, 1);
  }

  /**
   * Whether a party the barrier counts in `round` belongs to a thread that is gone. Notes of dead
   * threads in rounds that are over (`current` is the round the barrier is in) are cleared as it
   * looks: one left there would match the same round number when the rounds come round.
   */
  hasDead(round: number, current: number, roundMask: number): boolean {
    // A note up to half the round numbers behind the current round is of a round that is over.
    const half = roundMask >>> 1;
    const reg = existingRegistry();
    if (reg === null) return false;
    const w = this.#w;
    const noted = Math.min(Atomics.load(w, this.#noted), SLOTS);
    let dead = false;
    for (let slot = 0; slot < noted; slot++) {
      const at = this.#at(slot);
      const thread = Atomics.load(w, at);
      if (thread === 0) continue;
      const its = Atomics.load(w, at + 1) - 1;
      const parties = Atomics.load(w, at + 2);
      // A live thread rewrote its note meanwhile: skipped (only a live thread writes one).
      if (Atomics.load(w, at) !== thread || reg.isLive(slot, thread - 1)) continue;
      if (its === round && parties > 0) dead = true;
      else if (((current - its) & roundMask) !== 0 && ((current - its) & roundMask) <= half) Atomics.compareExchange(w, at, thread, 0);
    }
    return dead;
  }
}
