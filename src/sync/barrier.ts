/**
 * A barrier for `parties` threads: each wait() returns once all have arrived,
 * then the barrier resets for the next round. The round and the count of
 * arrivals share one word, so a party that times out withdraws atomically.
 *
 * Each waiting party also notes, in the barrier's memory, its thread and round under its slot
 * of the lock registry. A party whose thread died (the registry frees a dead thread's slot)
 * can never arrive again, so the round breaks: the waiters look for dead parties while they
 * wait, and the arrival that would complete a round looks first.
 */
import { threadId } from 'node:worker_threads';
import { ErrorCodes, ForkJoinError, callOutcome } from '../errors.js';
import { integerOption } from '../options.js';
import { nowMs } from '../clock.js';
import { existingRegistry, registry, type Registry } from './registry.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type Deadline, type WaitOptions } from './wait.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

const COUNT_BITS = 16;
const COUNT_MASK = (1 << COUNT_BITS) - 1;
/** In the count's top bit: a thread is breaking the round; arrivals and withdrawals wait for it. */
const BREAKING = 1 << (COUNT_BITS - 1);
const MAX_PARTIES = BREAKING - 1;
/**
 * Words: [0] round << 16 | count, [1] the last broken round + 1, [2] rounds broken so far, [3] slots
 * noted so far, then per registry slot [thread + 1, round + 1].
 */
const BROKEN_ROUND = 1;
const BREAKS = 2;
const SLOTS_NOTED = 3;
const PARTIES_AT = 4;
/** A round marked as breaking for this long lost its breaker (its thread was stopped mid-way): any thread finishes the break. */
const BREAK_STALL_MS = 50;
const SLOTS = 1024;
/** How often a waiting party looks for parties that died. */
const CHECK_MS = 100;

/**
 * This thread's async waits, each a check for dead parties of its round. Run when a pool sees a
 * worker thread exit or stops one: a wait in the main thread holds nothing alive between its own
 * checks, so a death must be able to wake it (its checks alone would let the process end first).
 */
const waitsHere = new Set<() => void>();

/** Looks again at every barrier this thread waits on: a thread just died or is being stopped. */
export function recheckBarriers(): void {
  for (const check of waitsHere) check();
}

export interface BarrierArrival {
  /** True for exactly one party per round: the last to arrive. */
  leader: boolean;
}

function brokenError(what: string): ForkJoinError {
  return callOutcome(new ForkJoinError(ErrorCodes.BARRIER_BROKEN, `${what}: the round broke: a party's thread died while it waited, so the round can never complete`));
}

/** This thread's registry slot, or -1 in a thread with no registry (a Worker of one's own): its death cannot be seen. */
function ownSlot(): { reg: Registry; slot: number } | null {
  try {
    const reg = registry();
    return { reg, slot: reg.slot };
  } catch {
    return null;
  }
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
    this.#parties = integerOption('new Barrier()', 'parties', parties, 1, MAX_PARTIES);
    this.#words = new Int32Array(new SharedArrayBuffer(4 * (PARTIES_AT + 2 * SLOTS)));
  }

  get parties(): number {
    return this.#parties;
  }

  /** Parties waiting in the current round (a snapshot). */
  get waiting(): number {
    return Atomics.load(this.#words, 0) & MAX_PARTIES;
  }

  /** Arrives; returns the round's word, or the leader's mark when this arrival completed the round. Throws when the round broke. */
  #arrive(what: string, me: { reg: Registry; slot: number } | null): { word: number; leader: boolean; breaks: number } {
    const w = this.#words;
    let stalledSince = 0;
    for (;;) {
      // Read before the round: a break of this party's round counts after it.
      const breaks = Atomics.load(w, BREAKS);
      const word = Atomics.load(w, 0);
      if ((word & BREAKING) !== 0) {
        // Another thread is breaking the round: the next one starts in a moment.
        stalledSince = this.#waitForBreak(word, stalledSince);
        continue;
      }
      const count = (word & COUNT_MASK) + 1;
      const round = word >>> COUNT_BITS;
      // A round counting a dead party breaks: it cannot complete, nor should it without that party.
      // Looked for before this party's note may take the slot the dead one's thread had.
      if (this.#hasDeadParty(round)) {
        if (this.#break(word)) throw brokenError(what);
        continue;
      }
      if (count === this.#parties) {
        const next = ((round + 1) & 0xffff) << COUNT_BITS;
        if (Atomics.compareExchange(w, 0, word, next | 0) !== word) continue;
        Atomics.notify(w, 0);
        return { word: next, leader: true, breaks };
      }
      const next = (round << COUNT_BITS) | count;
      if (Atomics.compareExchange(w, 0, word, next | 0) !== word) continue;
      if (me !== null) {
        Atomics.store(w, PARTIES_AT + 2 * me.slot + 1, round + 1);
        Atomics.store(w, PARTIES_AT + 2 * me.slot, threadId + 1);
        for (let noted = Atomics.load(w, SLOTS_NOTED); noted <= me.slot; noted = Atomics.load(w, SLOTS_NOTED)) {
          if (Atomics.compareExchange(w, SLOTS_NOTED, noted, me.slot + 1) === noted) break;
        }
      }
      return { word: next | 0, leader: false, breaks };
    }
  }

  /** While a round is marked as breaking: finishes the break when its breaker has stalled too long; returns when the stall began. */
  #waitForBreak(word: number, since: number): number {
    const now = nowMs();
    if (since === 0) return now;
    if (now - since > BREAK_STALL_MS) this.#finishBreak(word);
    return since;
  }

  /** Whether a party noted as waiting in `round` belongs to a thread that is gone; its note is cleared (it cannot match a later round). */
  #hasDeadParty(round: number): boolean {
    const reg = existingRegistry();
    if (reg === null) return false;
    const w = this.#words;
    const noted = Math.min(Atomics.load(w, SLOTS_NOTED), SLOTS);
    for (let slot = 0; slot < noted; slot++) {
      const thread = Atomics.load(w, PARTIES_AT + 2 * slot);
      if (thread === 0 || Atomics.load(w, PARTIES_AT + 2 * slot + 1) !== round + 1) continue;
      if (!reg.isLive(slot, thread - 1)) {
        Atomics.compareExchange(w, PARTIES_AT + 2 * slot, thread, 0);
        return true;
      }
    }
    return false;
  }

  /** Breaks the round `word` is in: its waiters fail, the next round starts empty. False when the round ended meanwhile. */
  #break(word: number): boolean {
    const w = this.#words;
    const round = word >>> COUNT_BITS;
    for (let now = word; ; now = Atomics.load(w, 0)) {
      if (now >>> COUNT_BITS !== round || (now & BREAKING) !== 0) return false;
      if (Atomics.compareExchange(w, 0, now, now | BREAKING) === now) {
        this.#finishBreak(now | BREAKING);
        return true;
      }
    }
  }

  /** Ends a round marked as breaking (`marked`): the mark and the count of breaks come before the round moves on, so a waiter that sees the new round sees them. */
  #finishBreak(marked: number): void {
    const w = this.#words;
    const round = marked >>> COUNT_BITS;
    Atomics.store(w, BROKEN_ROUND, round + 1);
    Atomics.add(w, BREAKS, 1);
    if (Atomics.compareExchange(w, 0, marked, ((round + 1) & 0xffff) << COUNT_BITS) === marked) Atomics.notify(w, 0);
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
  #withdraw(word: number, me: { reg: Registry; slot: number } | null): boolean {
    const w = this.#words;
    let stalledSince = 0;
    for (;;) {
      const now = Atomics.load(w, 0);
      if (now >>> COUNT_BITS !== word >>> COUNT_BITS) return false;
      if ((now & BREAKING) !== 0) {
        stalledSince = this.#waitForBreak(now, stalledSince);
        continue;
      }
      if (Atomics.compareExchange(w, 0, now, now - 1) === now) {
        if (me !== null) Atomics.store(w, PARTIES_AT + 2 * me.slot, 0);
        return true;
      }
    }
  }

  /** After its round ended: this party's note cleared, and whether the round broke (a break since it arrived, of its round). */
  #ended(arrival: { word: number; breaks: number }, me: { reg: Registry; slot: number } | null, what: string): BarrierArrival {
    const w = this.#words;
    if (me !== null) Atomics.store(w, PARTIES_AT + 2 * me.slot, 0);
    if (Atomics.load(w, BREAKS) !== arrival.breaks && Atomics.load(w, BROKEN_ROUND) === (arrival.word >>> COUNT_BITS) + 1) throw brokenError(what);
    return { leader: false };
  }

  /** The deadline of one stretch of waiting: at most CHECK_MS, then the waiter looks for dead parties (only where it could see one). */
  #slice(until: Deadline, me: object | null): Deadline {
    // With no deadline of its own the wait holds nothing alive, as before (its checks do not either).
    return me === null ? until : { ...until, at: Math.min(until.at, nowMs() + CHECK_MS), poll: until.at === Number.POSITIVE_INFINITY };
  }

  /** Waits for every party without blocking the event loop. */
  async wait(options?: WaitOptions): Promise<BarrierArrival> {
    const until = deadline('Barrier.wait()', options, false);
    const me = ownSlot();
    const arrival = this.#arrive('Barrier.wait()', me);
    if (arrival.leader) return { leader: true };
    const check = (): void => {
      if (this.#hasDeadParty(arrival.word >>> COUNT_BITS)) this.#break(arrival.word);
    };
    waitsHere.add(check);
    try {
      for (let seen = this.#current(arrival.word); seen !== null; seen = this.#current(arrival.word)) {
        let inTime: boolean;
        try {
          inTime = await waitAsync(this.#words, 0, seen, this.#slice(until, me));
        } catch (aborted) {
          if (this.#withdraw(arrival.word, me)) throw aborted;
          break;
        }
        if (this.#current(arrival.word) === null) break;
        if (!inTime && nowMs() >= until.at) {
          if (this.#withdraw(arrival.word, me)) throw timeoutError('Barrier.wait()', until.timeout);
          break;
        }
        check();
      }
    } finally {
      waitsHere.delete(check);
    }
    return this.#ended(arrival, me, 'Barrier.wait()');
  }

  /** Waits for every party, blocking this worker thread (not allowed on the main thread). */
  waitSync(options?: Omit<WaitOptions, 'signal'>): BarrierArrival {
    assertMayBlock('Barrier.waitSync()');
    // Options are checked before the quick path (the last party), which stays free of the deadline's cost.
    const checked = options === undefined ? null : deadline('Barrier.waitSync()', options, true);
    const me = ownSlot();
    const arrival = this.#arrive('Barrier.waitSync()', me);
    if (arrival.leader) return { leader: true };
    const until = checked ?? deadline('Barrier.waitSync()', options, true);
    for (let seen = this.#current(arrival.word); seen !== null; seen = this.#current(arrival.word)) {
      waitSync(this.#words, 0, seen, this.#slice(until, me));
      if (this.#current(arrival.word) === null) break;
      if (nowMs() >= until.at) {
        if (this.#withdraw(arrival.word, me)) throw timeoutError('Barrier.waitSync()', until.timeout);
        break;
      }
      if (this.#hasDeadParty(arrival.word >>> COUNT_BITS)) this.#break(arrival.word);
    }
    return this.#ended(arrival, me, 'Barrier.waitSync()');
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('Barrier', { buffer: this.#words.buffer, parties: this.#parties });
  }
}

registerKind('Barrier', Barrier, (record) => new Barrier(new Adopted(record) as unknown as number));
