/**
 * Who waits at a barrier, by thread: under each slot of the lock registry, the barrier's memory
 * holds a note [thread + 1, how many of that thread's parties the round counts, the round]. A
 * thread may have several parties waiting at once (async waits, concurrentTasksPerWorker), so
 * the note counts them: one withdrawing leaves the others noted. A party whose thread died
 * (the registry frees a dead thread's slot, and marks one its pool is stopping) can never
 * arrive again: its round must break rather than wait for it or pass without it.
 *
 * A round is the barrier's round count (barrier.ts), which never wraps: a note matches its own
 * round and no other, however long it goes unread.
 */
import { threadId } from 'node:worker_threads';
import { existingRegistry, type Registry } from './registry.js';

/** A thread with a registry slot: the only kind whose death its parties can see. */
export interface Party {
  reg: Registry;
  slot: number;
}

const SLOTS = 1024;
/** A note: [thread + 1 (32 bits), parties (32 bits), round (64 bits)]. */
const NOTE_BYTES = 16;

/** The bytes the notes take in a barrier's memory (first, 8: how many slots have notes). */
export const PARTIES_BYTES = 8 + SLOTS * NOTE_BYTES;

export class Parties {
  /** [0] how many slots have notes; then per slot at 2 + 4 * slot: thread + 1, parties. */
  readonly #w: Int32Array;
  /** Per slot at 1 + 2 * slot + 1: the round. */
  readonly #rounds: BigInt64Array;

  /** The notes in `buffer`, from byte `at` (a multiple of 8). */
  constructor(buffer: SharedArrayBuffer, at: number) {
    this.#w = new Int32Array(buffer, at, PARTIES_BYTES / 4);
    this.#rounds = new BigInt64Array(buffer, at, PARTIES_BYTES / 8);
  }

  /** Notes one more party of this thread in `round`: before the barrier counts it, so that no party is ever counted unnoted. */
  add(me: Party, round: bigint): void {
    const w = this.#w;
    const at = 2 + 4 * me.slot;
    const roundAt = 2 + 2 * me.slot;
    if (Atomics.load(w, at) === threadId + 1 && Atomics.load(this.#rounds, roundAt) === round) {
      Atomics.add(w, at + 1, 1);
      return;
    }
    // A note of an earlier round (over: this thread arrives in a later one) or of a thread that had the slot before.
    // Its thread word is cleared while it is rewritten, so that no reader mixes the two notes (see hasDead).
    Atomics.store(w, at, 0);
    Atomics.store(this.#rounds, roundAt, round);
    Atomics.store(w, at + 1, 1);
    Atomics.store(w, at, threadId + 1);
    for (let noted = Atomics.load(w, 0); noted <= me.slot; noted = Atomics.load(w, 0)) {
      if (Atomics.compareExchange(w, 0, noted, me.slot + 1) === noted) break;
    }
  }

  /** One party of this thread noted in `round` left it: withdrew, or its round ended. */
  remove(me: Party, round: bigint): void {
    const w = this.#w;
    const at = 2 + 4 * me.slot;
    // Rewritten for a later round meanwhile (another party of this thread): `round` is over, nothing to undo.
    if (Atomics.load(w, at) === threadId + 1 && Atomics.load(this.#rounds, 2 + 2 * me.slot) === round) Atomics.sub(w, at + 1, 1);
  }

  /**
   * Whether a party the barrier counts in `round` belongs to a thread that is gone. Notes of dead
   * threads in rounds that are over (before `current`, the round the barrier is in) are cleared
   * as it looks.
   */
  hasDead(round: bigint, current: bigint): boolean {
    const reg = existingRegistry();
    if (reg === null) return false;
    const w = this.#w;
    const noted = Math.min(Atomics.load(w, 0), SLOTS);
    let dead = false;
    for (let slot = 0; slot < noted; slot++) {
      const at = 2 + 4 * slot;
      const thread = Atomics.load(w, at);
      if (thread === 0) continue;
      const its = Atomics.load(this.#rounds, 2 + 2 * slot);
      const parties = Atomics.load(w, at + 1);
      // A live thread rewrote its note meanwhile: skipped (only a live thread writes one).
      if (Atomics.load(w, at) !== thread || reg.isLive(slot, thread - 1)) continue;
      if (its === round && parties > 0) dead = true;
      else if (its < current) Atomics.compareExchange(w, at, thread, 0);
    }
    return dead;
  }
}
