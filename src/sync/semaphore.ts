/** A counting semaphore shared by every thread it is passed to: at most `permits` holders at once. */
import { InvalidValueError } from '../errors.js';
import { countArgument, integerOption } from '../options.js';
import { assertMayBlock, deadline, timeoutError, waitAsync, waitSync, type WaitOptions } from './wait.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

/** The most permits a Semaphore holds (one 32-bit word). */
const MAX_PERMITS = 0x7fffffff;

let newPermit: (semaphore: Semaphore) => Permit;

/** One permit: release() it, or let `using` release it at the end of the block. */
export class Permit implements Disposable {
  readonly #semaphore: Semaphore;
  #held = true;

  /** A permit is made by its Semaphore (newPermit). */
  private constructor(semaphore: Semaphore) {
    this.#semaphore = semaphore;
  }

  static {
    // `this`, as a class that names itself in its body loses its name in the bundle (scripts/build.mjs).
    newPermit = (semaphore) => new this(semaphore);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#semaphore.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** Bounds how many threads (or async callers) use a resource at once. */
export class Semaphore implements Shareable {
  readonly #words: Int32Array;

  constructor(permits: number);
  constructor(permits: number | Adopted) {
    markInUse();
    if (permits instanceof Adopted) {
      this.#words = new Int32Array(permits.record.buffer as SharedArrayBuffer);
      return;
    }
    integerOption('new Semaphore()', 'permits', permits, 0, MAX_PERMITS);
    this.#words = new Int32Array(new SharedArrayBuffer(4));
    this.#words[0] = permits;
  }

  /** Permits free now (a snapshot). */
  get available(): number {
    return Atomics.load(this.#words, 0);
  }

  /** Takes a permit if one is free; null otherwise. */
  tryAcquire(): Permit | null {
    const w = this.#words;
    for (let seen = Atomics.load(w, 0); seen > 0; seen = Atomics.load(w, 0)) {
      if (Atomics.compareExchange(w, 0, seen, seen - 1) === seen) return newPermit(this);
    }
    return null;
  }

  /** Waits for a permit without blocking the event loop. */
  async acquire(options?: WaitOptions): Promise<Permit> {
    const until = deadline('Semaphore.acquire()', options, false);
    for (;;) {
      const permit = this.tryAcquire();
      if (permit !== null) return permit;
      if (!(await waitAsync(this.#words, 0, 0, until))) throw timeoutError('Semaphore.acquire()', until.timeout);
    }
  }

  /** Waits for a permit, blocking this worker thread (not allowed on the main thread). */
  acquireSync(options?: Omit<WaitOptions, 'signal'>): Permit {
    assertMayBlock('Semaphore.acquireSync()');
    // Options are checked before the quick path, which stays free of the deadline's cost.
    const checked = options === undefined ? null : deadline('Semaphore.acquireSync()', options, true);
    const first = this.tryAcquire();
    if (first !== null) return first;
    const until = checked ?? deadline('Semaphore.acquireSync()', options, true);
    for (;;) {
      const permit = this.tryAcquire();
      if (permit !== null) return permit;
      if (!waitSync(this.#words, 0, 0, until)) throw timeoutError('Semaphore.acquireSync()', until.timeout);
    }
  }

  /** Returns a permit (any thread may). */
  release(count = 1): void {
    countArgument('Semaphore.release()', count, MAX_PERMITS);
    const w = this.#words;
    for (;;) {
      const free = Atomics.load(w, 0);
      if (free > MAX_PERMITS - count) {
        throw new InvalidValueError(`Semaphore.release(): releasing ${count} would take the free permits (${free}) past ${MAX_PERMITS}, the most a Semaphore holds`);
      }
      if (Atomics.compareExchange(w, 0, free, free + count) === free) break;
    }
    Atomics.notify(w, 0, count);
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('Semaphore', { buffer: this.#words.buffer });
  }
}

registerKind('Semaphore', Semaphore, (record) => new Semaphore(new Adopted(record) as unknown as number));
