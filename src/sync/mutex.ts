/**
 * A mutual-exclusion lock shared by every thread it is passed to. Its state
 * lives in the process's lock registry (shared memory): 0 unlocked, 1 locked,
 * 2 locked with waiters, so an uncontended lock and unlock are a few atomic
 * operations and a contended one sleeps in Atomics.wait / Atomics.waitAsync.
 */
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { ErrorCodes, ForkJoinError, InvalidTypeError, callOutcome } from '../errors.js';
import { knownKeys, objectOption } from '../options.js';
import { describeType } from '../task.js';
import { checkDeadlock } from './deadlock.js';
import { Lock, LockState, adoptRegistry, existingRegistry, registry, type Registry } from './registry.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type Deadline, type WaitOptions } from './wait.js';
import { LOCKS_LEFT } from './tag.js';
import { makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

/** A lock's name for deadlock messages, from the registry (any thread's lock) or its number. */
const nameOf = (index: number): string => existingRegistry()?.nameOf(index) ?? `mutex #${index}`;

/** How many mutexes this thread holds now: a worker releases what its finished tasks left held. */
let heldHere = 0;
/** Whether this thread's worker runtime, if it runs in one, was handed releaseAbandonedLocks (see LOCKS_LEFT). */
let announced = false;
/** This thread's acquisitions so far (wrapping): a lock records the number of its current one. */
let acquisitions = 0;
/** Releases `mutex` if `acquisition` is still this thread's current one of it (set by Mutex, which owns its words). */
let releaseIfCurrent: (mutex: Mutex, acquisition: number) => void;
let newLock: (mutex: Mutex, ownerDied: boolean, acquisition: number) => MutexLock;

/** A held lock: release it with release(), or let `using` release it at the end of the block. */
export class MutexLock implements Disposable {
  readonly #mutex: Mutex;
  readonly #ownerDied: boolean;
  readonly #acquisition: number;

  /** A lock is made by its Mutex (newLock). */
  private constructor(mutex: Mutex, ownerDied: boolean, acquisition: number) {
    this.#mutex = mutex;
    this.#ownerDied = ownerDied;
    this.#acquisition = acquisition;
  }

  static {
    // `this`, as a class that names itself in its body loses its name in the bundle (scripts/build.mjs).
    newLock = (mutex, ownerDied, acquisition) => new this(mutex, ownerDied, acquisition);
  }

  /**
   * The previous owner died holding the lock (like a robust mutex's EOWNERDEAD):
   * what it protected may be half-updated; check it before trusting it.
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Releases this acquisition; does nothing once it was released, however (never a later acquisition). */
  release(): void {
    releaseIfCurrent(this.#mutex, this.#acquisition);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

export interface MutexOptions {
  /** Shown in deadlock reports. @default "mutex #<n>" */
  name?: string | undefined;
}

/** Rebuilds a Mutex around shared words that already exist (in the thread that received it). */
class Revival {
  constructor(readonly reg: Registry, readonly base: number, readonly name: string) {}
}

/** The `name` of `new Mutex(options)`, checked as every constructor checks its options. */
function mutexName(options: unknown): string | undefined {
  const o = objectOption('new Mutex()', options);
  knownKeys('new Mutex()', o, ['name']);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new InvalidTypeError(`new Mutex(): the "name" option must be a non-empty string; received ${describeType(o.name)}`);
  }
  return o.name as string | undefined;
}

/** A lock for one thread at a time, across every thread it is passed to; deadlocks are reported, not hung. */
export class Mutex implements Shareable {
  readonly #reg: Registry;
  readonly #words: Int32Array;
  readonly #state: number;
  readonly #name: string;

  constructor(options?: MutexOptions);
  constructor(options?: MutexOptions | Revival) {
    markInUse();
    if (!announced) announce();
    let base: number;
    if (options instanceof Revival) {
      this.#reg = options.reg;
      base = options.base;
      this.#name = options.name;
    } else {
      const name = mutexName(options);
      this.#reg = registry();
      base = this.#reg.allocateLock();
      this.#name = name ?? `mutex #${this.#reg.lockIndex(base)}`;
      if (name !== undefined) this.#reg.setName(this.#reg.lockIndex(base), name);
    }
    this.#words = this.#reg.words;
    this.#state = base + Lock.State;
  }

  get name(): string {
    return this.#name;
  }

  /** Whether some thread holds it now (a snapshot). */
  get locked(): boolean {
    const state = Atomics.load(this.#words, this.#state);
    return state === LockState.Held || state === LockState.Contended;
  }

  /** Takes the lock if it is free, without waiting; null when another thread holds it. */
  tryLock(): MutexLock | null {
    if (Atomics.compareExchange(this.#words, this.#state, LockState.Free, LockState.Held) === LockState.Free) return this.#acquired(false);
    if (Atomics.compareExchange(this.#words, this.#state, LockState.OwnerDied, LockState.Held) === LockState.OwnerDied) return this.#acquired(true);
    return null;
  }

  /**
   * Waits for the lock without blocking the event loop, for as long as its holder keeps it,
   * even when that is this thread: the thread keeps running, so the holder can still let go.
   */
  async lock(options?: WaitOptions): Promise<MutexLock> {
    // Options are checked before the quick path, which stays free of the deadline's cost.
    let until: Deadline | null = options === undefined ? null : deadline(`${this.#name}.lock()`, options, false);
    const held = this.tryLock();
    if (held !== null) return held;
    until ??= deadline(`${this.#name}.lock()`, options, false);
    // Drepper's futex mutex: Contended means "held, maybe with waiters", so unlock knows to wake one.
    // The wait is no edge of the wait-for graph (see deadlock.ts): an async wait proves no deadlock.
    for (let seen = Atomics.exchange(this.#words, this.#state, LockState.Contended); !isFree(seen); seen = Atomics.exchange(this.#words, this.#state, LockState.Contended)) {
      if (!(await waitAsync(this.#words, this.#state, LockState.Contended, until))) throw timeoutError(`${this.#name}.lock()`, until.timeout);
    }
    return this.#acquired(lastDied);
  }

  /** Waits for the lock, blocking this worker thread (not allowed on the main thread). */
  lockSync(options?: Omit<WaitOptions, 'signal'>): MutexLock {
    // Refused on the main thread even when free: whether it would block depends on other threads.
    if (isMainThread) assertMayBlock(`${this.#name}.lockSync()`);
    // Options are checked before the quick path, which stays free of the deadline's cost.
    let until: Deadline | null = options === undefined ? null : deadline(`${this.#name}.lockSync()`, options, true);
    const held = this.tryLock();
    if (held !== null) return held;
    // The holder is likely running on another core and about to let go: a short spin hands
    // the lock over in well under a microsecond, where sleeping in the kernel costs ~10 µs.
    for (let i = 0; i < SPINS; i++) {
      const quick = this.tryLock();
      if (quick !== null) return quick;
    }
    until ??= deadline(`${this.#name}.lockSync()`, options, true);
    let published = false;
    try {
      for (let seen = Atomics.exchange(this.#words, this.#state, LockState.Contended); !isFree(seen); seen = Atomics.exchange(this.#words, this.#state, LockState.Contended)) {
        // Published once: the wait stays the same one, and keeps its ticket, however often it wakes.
        if (!published) this.#reg.beginWait(this.#state);
        published = true;
        checkDeadlock(this.#reg, this.#state, nameOf);
        if (!waitSync(this.#words, this.#state, LockState.Contended, until, RECHECK_MS)) throw timeoutError(`${this.#name}.lockSync()`, until.timeout);
      }
      return this.#acquired(lastDied);
    } finally {
      if (published) this.#reg.endWait();
    }
  }

  /** Releases the lock; only the thread holding it may. */
  unlock(): void {
    if (Atomics.load(this.#words, this.#state + Lock.Owner) !== ownerId(this.#reg)) {
      throw callOutcome(new ForkJoinError(ErrorCodes.LOCK_NOT_OWNER, `${this.#name}.unlock(): this thread does not hold the lock`));
    }
    this.#release();
  }

  static {
    releaseIfCurrent = (mutex, acquisition) => {
      const w = mutex.#words;
      // Only the owner writes Acquisition, so once Owner says this thread, a plain read is exact.
      if (Atomics.load(w, mutex.#state + Lock.Owner) === ownerId(mutex.#reg) && w[mutex.#state + Lock.Acquisition] === acquisition) mutex.#release();
    };
  }

  /** Lets go of the lock this thread holds, waking one waiter if there may be any. */
  #release(): void {
    const w = this.#words;
    heldHere--;
    Atomics.store(w, this.#state + Lock.Owner, 0);
    if (Atomics.exchange(w, this.#state, LockState.Free) === LockState.Contended) Atomics.notify(w, this.#state, 1);
  }

  #acquired(ownerDied: boolean): MutexLock {
    acquisitions = (acquisitions + 1) | 0;
    this.#words[this.#state + Lock.Acquisition] = acquisitions;
    Atomics.store(this.#words, this.#state + Lock.Owner, ownerId(this.#reg));
    heldHere++;
    return newLock(this, ownerDied, acquisitions);
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('Mutex', { registry: this.#reg.buffer, base: this.#state, name: this.#name });
  }
}

/**
 * Called by the worker runtime once no task runs on this thread: the mutexes a finished task
 * left locked are released as a dead owner's are, so their next owner sees `ownerDied`.
 */
function releaseAbandonedLocks(): void {
  if (heldHere === 0) return;
  heldHere = 0;
  const reg = existingRegistry();
  if (reg !== null) reg.releaseAllOf(ownerId(reg));
}

/** Hands releaseAbandonedLocks to this thread's worker runtime, if it runs in one: no mutex can be locked here before one is made or received. */
function announce(): void {
  announced = true;
  const listen = (globalThis as { [LOCKS_LEFT]?: unknown })[LOCKS_LEFT];
  if (typeof listen === 'function') (listen as (release: () => void) => void)(releaseAbandonedLocks);
}

/**
 * A blocked lockSync() wakes this often to walk the wait-for graph again: the thread that finds
 * a cycle wakes its victim, but that wake is lost if the victim, its own walk done too early to
 * see the cycle, has not begun to sleep yet; the next walk finds it.
 */
const RECHECK_MS = 50;

/** Tries before a blocking wait sleeps; none on a single core, where the holder cannot run meanwhile. */
const SPINS = availableParallelism() > 1 ? 1_000 : 0;

/** Whether an exchange took the lock: it was free, or freed by its dead owner (remembered for the caller). */
function isFree(seen: number): boolean {
  lastDied = seen === LockState.OwnerDied;
  return seen === LockState.Free || seen === LockState.OwnerDied;
}
/** Set by the last isFree(); read right after, before any other code of this thread runs. */
let lastDied = false;

let cachedOwner = 0;
/** This thread's owner id (its registry slot + 1), cached after the first lock. */
function ownerId(reg: Registry): number {
  return cachedOwner !== 0 ? cachedOwner : (cachedOwner = reg.slot + 1);
}

registerKind('Mutex', Mutex, (record) => {
  const reg = adoptRegistry(record.registry as SharedArrayBuffer);
  const base = record.base as number;
  const name = record.name as string;
  return new Mutex(new Revival(reg, base, name) as MutexOptions);
});
