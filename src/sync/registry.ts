/**
 * The shared registry behind every lock: one SharedArrayBuffer per process,
 * given to each ThreadPool worker, that holds each thread's slot (which lock it
 * is blocked on) and each mutex's state, owner and acquisition. Because any thread
 * can read who owns what and who is blocked on what, the thread about to block
 * can walk the wait-for graph and see the cycle its wait would close. Each blocking
 * wait also takes a ticket, later than every one before it: of the waits in a cycle,
 * the one with the latest ticket closed it.
 */
import { isMainThread, threadId, workerData } from 'node:worker_threads';
import { ErrorCodes, ForkJoinError, callOutcome } from '../errors.js';

const MAX_THREADS = 1024;
const MAX_LOCKS = 65_536;

// Layout, in Int32 words.
const HEADER = 4; // [0] next lock index, [1] layout version, [2..3] random identity
const SLOT_WORDS = 3; // [threadId + 1 or 0 if free, lock index + 1 waited for or 0, 1 once its pool is stopping it]
const LOCK_WORDS = 3; // [state, owner slot + 1, the owner's number for this acquisition]
const SLOTS_AT = HEADER;
const LOCKS_AT = SLOTS_AT + MAX_THREADS * SLOT_WORDS;
const WORDS = LOCKS_AT + MAX_LOCKS * LOCK_WORDS;
/** Each mutex's name, for deadlock reports in any thread: a length byte, then up to 63 bytes of UTF-8. */
const NAME_BYTES = 64;
const NAMES_AT = WORDS * 4;
/** Tickets, 64-bit so that they never wrap: [0] the last one taken, then per slot the ticket of its current blocking wait. */
const TICKETS_AT = Math.ceil((NAMES_AT + MAX_LOCKS * NAME_BYTES) / 8) * 8;
const BYTES = TICKETS_AT + (1 + MAX_THREADS) * 8;
const VERSION = 5;

/**
 * Offsets of a lock's words relative to its base. Acquisition is written and read only by
 * the owner: it tells the handle of this acquisition from a stale one of an earlier one.
 */
export const Lock = Object.freeze({ State: 0, Owner: 1, Acquisition: 2 });
/** A lock's state word. */
export const LockState = Object.freeze({
  Free: 0,
  Held: 1,
  /** Held, and some thread may be waiting: unlock must wake one. */
  Contended: 2,
  /** Free because its owner died holding it: the next owner is told. */
  OwnerDied: 3,
});

export class Registry {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  #slot = -1;

  readonly #names: Uint8Array;
  readonly #tickets: BigInt64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer, 0, WORDS);
    this.#names = new Uint8Array(buffer, NAMES_AT, MAX_LOCKS * NAME_BYTES);
    this.#tickets = new BigInt64Array(buffer, TICKETS_AT, 1 + MAX_THREADS);
  }

  /** Records the name of the lock at `index`, for every thread (written before the lock is shared). */
  setName(index: number, name: string): void {
    const at = index * NAME_BYTES;
    let bytes = Buffer.from(name, 'utf8');
    if (bytes.length > NAME_BYTES - 1) {
      // Cut at a character's start, and say it was cut.
      let end = NAME_BYTES - 4;
      while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
      bytes = Buffer.concat([bytes.subarray(0, end), Buffer.from('…')]);
    }
    this.#names.set(bytes, at + 1);
    this.#names[at] = bytes.length;
  }

  /** The name recorded for the lock at `index`, or null. */
  nameOf(index: number): string | null {
    const at = index * NAME_BYTES;
    const length = this.#names[at];
    return length === 0 ? null : Buffer.from(this.#names.subarray(at + 1, at + 1 + length)).toString('utf8');
  }

  /** A new lock's base offset in `words`. */
  allocateLock(): number {
    const index = Atomics.add(this.words, 0, 1);
    if (index >= MAX_LOCKS) {
      throw callOutcome(new ForkJoinError(ErrorCodes.SYNC_LIMIT, `A process can create at most ${MAX_LOCKS} mutexes; reuse them rather than making one per operation`));
    }
    return LOCKS_AT + index * LOCK_WORDS;
  }

  lockIndex(base: number): number {
    return (base - LOCKS_AT) / LOCK_WORDS;
  }

  lockBase(index: number): number {
    return LOCKS_AT + index * LOCK_WORDS;
  }

  /** This thread's slot index, claimed on first use; a lock's Owner word holds slot + 1. */
  get slot(): number {
    if (this.#slot >= 0) return this.#slot;
    const w = this.words;
    for (let i = 0; i < MAX_THREADS; i++) {
      const at = SLOTS_AT + i * SLOT_WORDS;
      if (Atomics.load(w, at) === threadId + 1) return (this.#slot = i);
      if (Atomics.compareExchange(w, at, 0, threadId + 1) === 0) {
        Atomics.store(w, at + 1, 0);
        Atomics.store(w, at + 2, 0);
        return (this.#slot = i);
      }
    }
    throw callOutcome(new ForkJoinError(ErrorCodes.SYNC_LIMIT, `At most ${MAX_THREADS} threads can use forkjoin's locks at once`));
  }

  threadOfSlot(slot: number): number {
    return Atomics.load(this.words, SLOTS_AT + slot * SLOT_WORDS) - 1;
  }

  /** Whether `thread` still holds `slot` and is not being stopped by its pool. */
  isLive(slot: number, thread: number): boolean {
    const at = SLOTS_AT + slot * SLOT_WORDS;
    return Atomics.load(this.words, at) === thread + 1 && Atomics.load(this.words, at + 2) === 0;
  }

  /**
   * Called in the main thread when a pool stops a worker thread (a timeout, a cancel): it will
   * never arrive anywhere again, though it may run a moment longer. Its locks are released
   * only once it has exited (threadExited).
   */
  threadStopping(stoppingThreadId: number): void {
    const w = this.words;
    for (let i = 0; i < MAX_THREADS; i++) {
      const at = SLOTS_AT + i * SLOT_WORDS;
      if (Atomics.load(w, at) !== stoppingThreadId + 1) continue;
      Atomics.store(w, at + 2, 1);
      return;
    }
  }

  /** Publishes that this thread is blocked on the lock at `base`, with a new ticket (written first: whoever reads the wait reads its ticket). */
  beginWait(base: number): void {
    const slot = this.slot;
    Atomics.store(this.#tickets, 1 + slot, Atomics.add(this.#tickets, 0, 1n) + 1n);
    Atomics.store(this.words, SLOTS_AT + slot * SLOT_WORDS + 1, this.lockIndex(base) + 1);
  }

  /** Publishes that this thread is blocked on nothing. */
  endWait(): void {
    Atomics.store(this.words, SLOTS_AT + this.slot * SLOT_WORDS + 1, 0);
  }

  waitingOf(slot: number): number {
    return Atomics.load(this.words, SLOTS_AT + slot * SLOT_WORDS + 1) - 1;
  }

  /** The ticket of the blocking wait `slot` published last: read after waitingOf(), it is that wait's or a later one's. */
  ticketOf(slot: number): bigint {
    return Atomics.load(this.#tickets, 1 + slot);
  }

  /**
   * Called in the main thread when a worker thread ends: its slot is freed, and
   * every lock it held is released with the OwnerDied flag, waking the waiters.
   */
  threadExited(exitedThreadId: number): void {
    const w = this.words;
    for (let i = 0; i < MAX_THREADS; i++) {
      const at = SLOTS_AT + i * SLOT_WORDS;
      if (Atomics.load(w, at) !== exitedThreadId + 1) continue;
      this.releaseAllOf(i + 1);
      Atomics.store(w, at + 1, 0);
      Atomics.store(w, at + 2, 0);
      Atomics.store(w, at, 0);
      return;
    }
  }

  /**
   * Releases every lock `owner` (a slot + 1) holds, as if it had died: each is left in the
   * OwnerDied state, so its next owner is told, and its waiters wake to take it.
   */
  releaseAllOf(owner: number): void {
    const w = this.words;
    const used = Math.min(Atomics.load(w, 0), MAX_LOCKS);
    for (let lock = 0; lock < used; lock++) {
      const base = LOCKS_AT + lock * LOCK_WORDS;
      if (Atomics.load(w, base + Lock.Owner) !== owner) continue;
      Atomics.store(w, base + Lock.Owner, 0);
      Atomics.store(w, base + Lock.State, LockState.OwnerDied);
      Atomics.notify(w, base + Lock.State);
    }
  }
}

let current: Registry | null = null;

/** The key under which a ThreadPool hands its workers the registry (in workerData). */
export const WORKER_DATA_KEY = 'forkjoin.locks';

/** The registry a ThreadPool gave this worker thread, if it is one. */
function poolRegistry(): SharedArrayBuffer | null {
  const data = workerData as Record<string, unknown> | null | undefined;
  const buffer = typeof data === 'object' && data !== null ? data[WORKER_DATA_KEY] : undefined;
  return buffer instanceof SharedArrayBuffer && buffer.byteLength === BYTES ? buffer : null;
}

/** The process-wide registry: made by the main thread, adopted by workers from their pool or the first lock they receive. */
export function registry(): Registry {
  if (current === null) {
    if (!isMainThread) {
      const buffer = poolRegistry();
      if (buffer !== null) return adoptRegistry(buffer);
      throw callOutcome(new ForkJoinError(ErrorCodes.SYNC_NO_REGISTRY, 'Create locks in the main thread (or in a ThreadPool task) and pass them to tasks as arguments'));
    }
    current = new Registry(new SharedArrayBuffer(BYTES));
    Atomics.store(current.words, 1, VERSION);
    // A received SharedArrayBuffer is a new object over the same memory: this tag tells them apart.
    Atomics.store(current.words, 2, (Math.random() * 0x7fffffff) | 0);
    Atomics.store(current.words, 3, (Math.random() * 0x7fffffff) | 0);
  }
  return current;
}

let token: string | null = null;

/**
 * The registry's random identity, as text: a lock's record carries it, so that data of the
 * caller's that happens to look like a record is never taken for one (wire.ts).
 */
export function registryToken(): string {
  if (token === null) {
    const words = registry().words;
    token = `${Atomics.load(words, 2)}.${Atomics.load(words, 3)}`;
  }
  return token;
}

/** The registry if one exists in this thread, without creating it. */
export function existingRegistry(): Registry | null {
  return current;
}

/** Adopts the registry a worker received (its pool's, or one inside a lock). */
export function adoptRegistry(buffer: SharedArrayBuffer): Registry {
  if (current === null) {
    current = new Registry(buffer);
    return current;
  }
  const theirs = new Int32Array(buffer, 0, HEADER);
  const ours = current.words;
  if (Atomics.load(theirs, 2) !== Atomics.load(ours, 2) || Atomics.load(theirs, 3) !== Atomics.load(ours, 3)) {
    throw callOutcome(new ForkJoinError(ErrorCodes.SYNC_NO_REGISTRY, 'Two different lock registries met in one thread; create locks in the main thread and pass them to tasks'));
  }
  return current;
}
