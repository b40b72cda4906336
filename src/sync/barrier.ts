/**
 * A barrier for `parties` threads: each wait() returns once all have arrived,
 * then the barrier resets for the next round. The round, the count of arrivals
 * and whether the barrier is broken share one 64-bit word, so a party that times out
 * withdraws atomically and no party slips into a round as it breaks. The round is a
 * count of the rounds that ended, which never wraps (2^46 of them): a party that wakes
 * however late never takes a later round for its own, nor withdraws from one.
 *
 * A party whose thread died can never arrive again (barrier-parties.ts), so its round breaks,
 * and the barrier stays broken until reset(), as Python's threading.Barrier does: every wait
 * then fails at once, rather than start a round that the parties who already failed will never
 * join. Waiters look for dead parties while they wait; every arrival looks first, and so does
 * a read of `waiting` or `broken`.
 */
import { ErrorCodes, ForkJoinError, callOutcome } from '../errors.js';
import { integerOption } from '../options.js';
import { nowMs } from '../clock.js';
import { Parties, PARTIES_BYTES, type Party } from './barrier-parties.js';
import { registry } from './registry.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type Deadline, type WaitOptions } from './wait.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

const COUNT_MASK = 0x7fffn;
/** A thread is breaking the round (or resetting the barrier): arrivals and withdrawals wait for it. */
const BREAKING = 1n << 15n;
/** Every wait fails until reset(). */
const BROKEN = 1n << 16n;
const FLAGS = BREAKING | BROKEN;
const ROUND_SHIFT = 17n;
const MAX_PARTIES = Number(COUNT_MASK);
/**
 * How many rounds that broke while parties waited are remembered: in 64-bit words after the
 * barrier's own ([0] round << 17 | BROKEN | BREAKING | count), the one for round r at
 * 1 + r % BROKE_HISTORY holds r + 1 if r broke, else that of an earlier round that broke, or 0.
 * It tells each waiter how its round ended however late it wakes, unless a round as many later
 * broke before it woke (see #brokeIn). Then come the parties' notes.
 */
const BROKE_HISTORY = 4096;
const HISTORY_SIZE = BigInt(BROKE_HISTORY);
const PARTIES_AT = 8 * (1 + BROKE_HISTORY);
/** A round marked as breaking for this long lost its breaker (its thread was stopped mid-way): any thread finishes the break. */
const BREAK_STALL_MS = 50;
/** How often a waiting party looks for parties that died. */
const CHECK_MS = 100;

const roundOf = (word: bigint): bigint => word >> ROUND_SHIFT;
const countOf = (word: bigint): number => Number(word & COUNT_MASK);
/** The word of the round after `round`, empty. */
const after = (round: bigint): bigint => (round + 1n) << ROUND_SHIFT;

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

function brokenError(what: string, waited: boolean): ForkJoinError {
  const why = waited
    ? 'the round broke while this party waited: a party\'s thread died, or abort() or reset() was called'
    : 'the barrier is broken (a party\'s thread died while it waited, or abort() was called); every wait fails until reset()';
  return callOutcome(new ForkJoinError(ErrorCodes.BARRIER_BROKEN, `${what}: ${why}`));
}

/** This thread's registry slot, or null in a thread with no registry (a Worker of one's own): its death cannot be seen. */
function ownSlot(): Party | null {
  try {
    const reg = registry();
    return { reg, slot: reg.slot };
  } catch {
    return null;
  }
}

/** Makes `parties` threads wait for each other, round after round. */
export class Barrier implements Shareable {
  /** [0] the barrier's word; then the rounds that broke. */
  readonly #words: BigInt64Array;
  readonly #parties: number;
  readonly #notes: Parties;

  constructor(parties: number);
  constructor(parties: number | Adopted) {
    markInUse();
    if (parties instanceof Adopted) {
      this.#words = new BigInt64Array(parties.record.buffer as SharedArrayBuffer, 0, 1 + BROKE_HISTORY);
      this.#parties = parties.record.parties as number;
    } else {
      this.#parties = integerOption('new Barrier()', 'parties', parties, 1, MAX_PARTIES);
      this.#words = new BigInt64Array(new SharedArrayBuffer(PARTIES_AT + PARTIES_BYTES), 0, 1 + BROKE_HISTORY);
    }
    this.#notes = new Parties(this.#words.buffer as SharedArrayBuffer, PARTIES_AT);
  }

  get parties(): number {
    return this.#parties;
  }

  /** Parties waiting in the current round (a snapshot); never one whose thread died. */
  get waiting(): number {
    this.#notice();
    const word = Atomics.load(this.#words, 0);
    return (word & FLAGS) !== 0n ? 0 : countOf(word);
  }

  /** Whether the barrier is broken: every wait fails with FJ_BARRIER_BROKEN until reset(). */
  get broken(): boolean {
    this.#notice();
    return (Atomics.load(this.#words, 0) & FLAGS) !== 0n;
  }

  /** Breaks the barrier on purpose: the parties waiting fail with FJ_BARRIER_BROKEN, and so does every wait until reset(). */
  abort(): void {
    for (;;) {
      const word = this.#steady();
      if ((word & BROKEN) !== 0n || this.#break(word)) return;
    }
  }

  /** Makes the barrier whole and empty again; the parties waiting in the current round fail with FJ_BARRIER_BROKEN. */
  reset(): void {
    const w = this.#words;
    for (;;) {
      const word = this.#steady();
      if ((word & (BROKEN | COUNT_MASK)) === 0n) return;
      // Ended as broken by another thread that took this one for stalled: reset again.
      if (Atomics.compareExchange(w, 0, word, word | BREAKING) === word && this.#finishBreak(word | BREAKING, 0n)) return;
    }
  }

  /** Arrives; returns the round's word, or the leader's mark when this arrival completed the round. Throws when the barrier is broken. */
  #arrive(what: string, me: Party | null): { word: bigint; leader: boolean } {
    const w = this.#words;
    for (;;) {
      const word = this.#steady();
      if ((word & BROKEN) !== 0n) throw brokenError(what, false);
      const round = roundOf(word);
      const count = countOf(word) + 1;
      // A round counting a dead party breaks: it cannot complete, nor should it without that party.
      // Looked for before this party's note may take the slot the dead one's thread had.
      if (this.#deadIn(round)) {
        this.#break(word);
        continue;
      }
      if (count === this.#parties) {
        // The round completes only if the word is still the one read: no other round can have that word.
        const next = after(round);
        if (Atomics.compareExchange(w, 0, word, next) !== word) continue;
        Atomics.notify(w, 0);
        return { word: next, leader: true };
      }
      if (me !== null) this.#notes.add(me, round);
      const next = word + 1n;
      if (Atomics.compareExchange(w, 0, word, next) === word) return { word: next, leader: false };
      if (me !== null) this.#notes.remove(me, round);
    }
  }

  /** Whether a party counted in `round` belongs to a thread that is gone. */
  #deadIn(round: bigint): boolean {
    return this.#notes.hasDead(round, roundOf(Atomics.load(this.#words, 0)));
  }

  /** Breaks the current round if it counts a dead party, so that what is read of the barrier is true. */
  #notice(): void {
    const word = Atomics.load(this.#words, 0);
    if ((word & FLAGS) === 0n && countOf(word) !== 0 && this.#deadIn(roundOf(word))) this.#break(word);
  }

  /**
   * The barrier's word once no thread is breaking a round: another thread's break ends in a moment,
   * and one whose breaker stalled too long (its thread was stopped mid-way) is finished here. The
   * stall is timed from when this wait first saw that break.
   */
  #steady(): bigint {
    let since = 0;
    for (;;) {
      const word = Atomics.load(this.#words, 0);
      if ((word & BREAKING) === 0n) return word;
      const now = nowMs();
      if (since === 0) since = now;
      else if (now - since > BREAK_STALL_MS) this.#finishBreak(word, BROKEN);
    }
  }

  /**
   * Records that `round` broke. Only ever raised, so a thread that records it late (one that
   * finishes a stalled break from a word read long before) never hides a later round's break,
   * and what it records is true: a round marked as breaking always ends broken.
   */
  #recordBroke(round: bigint): void {
    const w = this.#words;
    const at = 1 + Number(round % HISTORY_SIZE);
    for (let was = Atomics.load(w, at); was <= round; was = Atomics.load(w, at)) {
      if (Atomics.compareExchange(w, at, was, round + 1n) === was) return;
    }
  }

  /**
   * Whether `round`, which is over, broke. When a round BROKE_HISTORY or more later broke with
   * parties waiting, before this party woke, its own round's outcome is lost: it is taken as
   * broken, so that no party is ever told a round passed that did not.
   */
  #brokeIn(round: bigint): boolean {
    return Atomics.load(this.#words, 1 + Number(round % HISTORY_SIZE)) > round;
  }

  /** Breaks the round `word` is in, and the barrier with it. False when the round ended meanwhile, or the barrier is broken already. */
  #break(word: bigint): boolean {
    const w = this.#words;
    const round = roundOf(word);
    for (let now = word; ; now = Atomics.load(w, 0)) {
      if (roundOf(now) !== round || (now & FLAGS) !== 0n) return false;
      if (Atomics.compareExchange(w, 0, now, now | BREAKING) === now) return this.#finishBreak(now | BREAKING, BROKEN);
    }
  }

  /**
   * Ends a round marked as breaking (`marked`): its parties fail, and the next round starts empty,
   * broken or not (`state`). The break is recorded before the round moves on, so a waiter that sees
   * the new round sees it; only a round that counted parties has any to tell. False when another
   * thread ended it first (`marked` may be long stale: what it records of that round is still true).
   */
  #finishBreak(marked: bigint, state: bigint): boolean {
    const w = this.#words;
    const round = roundOf(marked);
    const next = after(round);
    if (countOf(marked) !== 0) this.#recordBroke(round);
    if (Atomics.compareExchange(w, 0, marked, next | state) !== marked) return false;
    Atomics.notify(w, 0);
    return true;
  }

  /**
   * The barrier's word now, or null once the round that `word` belongs to is over. A waiter
   * sleeps on exactly the word it checked: had it read the word again after the check, the
   * leader's notify could fall in between, and it would sleep through the round's end.
   */
  #current(word: bigint): bigint | null {
    const now = Atomics.load(this.#words, 0);
    return roundOf(now) !== roundOf(word) ? null : now;
  }

  /**
   * Leaves the round (after a timeout or an abort); false when the round ended meanwhile. A word
   * of this party's round, not breaking, counts this party: that is the only word it decrements.
   */
  #withdraw(word: bigint, me: Party | null): boolean {
    const w = this.#words;
    for (;;) {
      const now = this.#steady();
      if (roundOf(now) !== roundOf(word)) return false;
      if (Atomics.compareExchange(w, 0, now, now - 1n) === now) {
        // Unnoted only once uncounted: a death in between breaks the round rather than leave it counting a dead party.
        if (me !== null) this.#notes.remove(me, roundOf(word));
        return true;
      }
    }
  }

  /** After its round ended: this party's note taken back, and whether its round broke. */
  #ended(word: bigint, me: Party | null, what: string): BarrierArrival {
    if (me !== null) this.#notes.remove(me, roundOf(word));
    if (this.#brokeIn(roundOf(word))) throw brokenError(what, true);
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
      if (this.#deadIn(roundOf(arrival.word))) this.#break(arrival.word);
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
    return this.#ended(arrival.word, me, 'Barrier.wait()');
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
      if (this.#deadIn(roundOf(arrival.word))) this.#break(arrival.word);
    }
    return this.#ended(arrival.word, me, 'Barrier.waitSync()');
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('Barrier', { buffer: this.#words.buffer, parties: this.#parties });
  }
}

registerKind('Barrier', Barrier, (record) => new Barrier(new Adopted(record) as unknown as number));
