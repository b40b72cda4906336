/**
 * A mutual-exclusion lock shared by every thread it is passed to. Its state
 * lives in the process's lock registry (shared memory): 0 unlocked, 1 locked,
 * 2 locked with waiters, so an uncontended lock and unlock are a few atomic
 * operations and a contended one sleeps in Atomics.wait / Atomics.waitAsync.
 */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { checkDeadlock } from './deadlock.js';
import { Lock, LockFlag, adoptRegistry, registry, type Registry } from './registry.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type Deadline, type WaitOptions } from './wait.js';
import { makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

/** Names of the locks this thread has seen, for deadlock messages. */
const names = new Map<number, string>();
const nameOf = (index: number): string => names.get(index) ?? `mutex #${index}`;

/** A held lock: release it with release(), or let `using` release it at the end of the block. */
export class MutexLock implements Disposable {
  readonly #mutex: Mutex;
  readonly #ownerDied: boolean;
  #held = true;

  /** @internal */
  constructor(mutex: Mutex, ownerDied: boolean) {
    this.#mutex = mutex;
    this.#ownerDied = ownerDied;
  }

  /**
   * The previous owner died holding the lock (like a robust mutex's EOWNERDEAD):
   * what it protected may be half-updated; check it before trusting it.
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#mutex.unlock();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

export interface MutexOptions {
  /** Shown in deadlock reports. @default "mutex #<n>" */
  name?: string;
}

/** Rebuilds a Mutex around shared words that already exist (in the thread that received it). */
class Revival {
  constructor(readonly reg: Registry, readonly base: number, readonly name: string) {}
}

/** A lock for one thread at a time, across every thread it is passed to; deadlocks are reported, not hung. */
export class Mutex implements Shareable {
  readonly #reg: Registry;
  readonly #base: number;
  readonly #name: string;

  constructor(options?: MutexOptions);
  constructor(options?: MutexOptions | Revival) {
    markInUse();
    if (options instanceof Revival) {
      this.#reg = options.reg;
      this.#base = options.base;
      this.#name = options.name;
      return;
    }
    this.#reg = registry();
    this.#base = this.#reg.allocateLock();
    this.#name = options?.name ?? `mutex #${this.#reg.lockIndex(this.#base)}`;
    names.set(this.#reg.lockIndex(this.#base), this.#name);
  }

  get name(): string {
    return this.#name;
  }

  /** Whether some thread holds it now (a snapshot). */
  get locked(): boolean {
    return Atomics.load(this.#reg.words, this.#base + Lock.State) !== 0;
  }

  /** Takes the lock if it is free, without waiting; null when another thread holds it. */
  tryLock(): MutexLock | null {
    const w = this.#reg.words;
    if (Atomics.compareExchange(w, this.#base + Lock.State, 0, 1) !== 0) return null;
    return this.#acquired();
  }

  /** Waits for the lock without blocking the event loop. */
  async lock(options?: WaitOptions): Promise<MutexLock> {
    const held = this.tryLock();
    if (held !== null) return held;
    const until = deadline(`${this.#name}.lock()`, options, false);
    const w = this.#reg.words;
    const state = this.#base + Lock.State;
    try {
      // Drepper's futex mutex: 2 means "locked, maybe with waiters", so unlock knows to wake one.
      while (Atomics.exchange(w, state, 2) !== 0) {
        this.#beforeWait();
        if (!(await waitAsync(w, state, 2, until))) throw timeoutError(`${this.#name}.lock()`, until.timeout);
      }
      return this.#acquired();
    } finally {
      this.#reg.setWaiting(-1);
    }
  }

  /** Waits for the lock, blocking this worker thread (not allowed on the main thread). */
  lockSync(options?: Omit<WaitOptions, 'signal'>): MutexLock {
    const held = this.tryLock();
    if (held !== null) return held;
    assertMayBlock(`${this.#name}.lockSync()`);
    const until: Deadline = deadline(`${this.#name}.lockSync()`, options, true);
    const w = this.#reg.words;
    const state = this.#base + Lock.State;
    try {
      while (Atomics.exchange(w, state, 2) !== 0) {
        this.#beforeWait();
        if (!waitSync(w, state, 2, until)) throw timeoutError(`${this.#name}.lockSync()`, until.timeout);
      }
      return this.#acquired();
    } finally {
      this.#reg.setWaiting(-1);
    }
  }

  /** Releases the lock; only the thread holding it may. */
  unlock(): void {
    const w = this.#reg.words;
    const base = this.#base;
    if (Atomics.load(w, base + Lock.Owner) !== this.#reg.slot + 1) {
      throw new ForkJoinError(ErrorCodes.LOCK_NOT_OWNER, `${this.#name}.unlock(): this thread does not hold the lock`);
    }
    Atomics.store(w, base + Lock.Owner, 0);
    if (Atomics.exchange(w, base + Lock.State, 0) === 2) Atomics.notify(w, base + Lock.State, 1);
  }

  /** Publishes this thread's wait and refuses it if it closes a cycle. */
  #beforeWait(): void {
    this.#reg.setWaiting(this.#base);
    checkDeadlock(this.#reg, this.#base, nameOf);
  }

  #acquired(): MutexLock {
    const w = this.#reg.words;
    const base = this.#base;
    Atomics.store(w, base + Lock.Owner, this.#reg.slot + 1);
    Atomics.add(w, base + Lock.Generation, 1);
    const died = (Atomics.load(w, base + Lock.Flags) & LockFlag.OwnerDied) !== 0;
    if (died) Atomics.and(w, base + Lock.Flags, ~LockFlag.OwnerDied);
    return new MutexLock(this, died);
  }

  toRecord(): SyncRecord {
    return makeRecord('Mutex', { registry: this.#reg.buffer, base: this.#base, name: this.#name });
  }
}

registerKind('Mutex', Mutex, (record) => {
  const reg = adoptRegistry(record.registry as SharedArrayBuffer);
  const base = record.base as number;
  const name = record.name as string;
  names.set(reg.lockIndex(base), name);
  return new Mutex(new Revival(reg, base, name) as MutexOptions);
});
