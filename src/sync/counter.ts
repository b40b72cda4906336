/** A 64-bit integer shared by every thread it is passed to, updated atomically (exact up to 2^53). */
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import { describeType } from '../task.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** A safe integer as a bigint: a TypeError for what is not a number, a RangeError for a number out of range. */
function integer(where: string, value: unknown): bigint {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidTypeError(`${where}: expected a number; received ${describeType(value)}`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new InvalidValueError(`${where}: expected an integer from -(2^53 - 1) to 2^53 - 1; received ${describeType(value)}`);
  }
  return BigInt(value);
}

/** A counter that never loses an update, however many threads add to it at once. */
export class AtomicCounter implements Shareable {
  readonly #cell: BigInt64Array;

  constructor(initial?: number);
  constructor(initial: number | Adopted = 0) {
    markInUse();
    if (initial instanceof Adopted) {
      this.#cell = new BigInt64Array(initial.record.buffer as SharedArrayBuffer);
      return;
    }
    this.#cell = new BigInt64Array(new SharedArrayBuffer(8));
    this.#cell[0] = integer('new AtomicCounter()', initial);
  }

  get(): number {
    return Number(Atomics.load(this.#cell, 0));
  }

  set(value: number): void {
    Atomics.store(this.#cell, 0, integer('AtomicCounter.set()', value));
  }

  /** Adds `n` (may be negative) and returns the new value. */
  add(n = 1): number {
    return this.#add('AtomicCounter.add()', integer('AtomicCounter.add()', n));
  }

  increment(): number {
    return this.#add('AtomicCounter.increment()', 1n);
  }

  decrement(): number {
    return this.#add('AtomicCounter.decrement()', -1n);
  }

  /**
   * Adds `delta`; a result past the safe integers (where two callers could get the same number
   * back) is taken back at once and throws FJ_INVALID_ARG_VALUE. One atomic add, as fast as
   * the hardware's: only a caller at the edge pays for the check's undo.
   */
  #add(where: string, delta: bigint): number {
    const next = Atomics.add(this.#cell, 0, delta) + delta;
    if (next <= MAX_SAFE && next >= MIN_SAFE) return Number(next);
    Atomics.sub(this.#cell, 0, delta);
    throw new InvalidValueError(`${where}: the counter would leave the safe integers (±(2^53 - 1)): ${next - delta} ${delta < 0n ? '-' : '+'} ${delta < 0n ? -delta : delta}; it keeps its value`);
  }

  /** Sets `next` only if the value is `expected`; returns whether it did. */
  compareAndSet(expected: number, next: number): boolean {
    const want = integer('AtomicCounter.compareAndSet()', expected);
    return Atomics.compareExchange(this.#cell, 0, want, integer('AtomicCounter.compareAndSet()', next)) === want;
  }

  /** @internal The record that stands for it on the wire. */
  toRecord(): SyncRecord {
    return makeRecord('AtomicCounter', { buffer: this.#cell.buffer });
  }
}

registerKind('AtomicCounter', AtomicCounter, (record) => new AtomicCounter(new Adopted(record) as unknown as number));
