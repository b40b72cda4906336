/** A 64-bit integer shared by every thread it is passed to, updated atomically (exact up to 2^53). */
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import { describeType } from '../task.js';
import { Adopted, makeRecord, markInUse, registerKind, type Shareable, type SyncRecord } from './wire.js';

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
    const delta = integer('AtomicCounter.add()', n);
    return Number(Atomics.add(this.#cell, 0, delta) + delta);
  }

  increment(): number {
    return Number(Atomics.add(this.#cell, 0, 1n) + 1n);
  }

  decrement(): number {
    return Number(Atomics.sub(this.#cell, 0, 1n) - 1n);
  }

  /** Sets `next` only if the value is `expected`; returns whether it did. */
  compareAndSet(expected: number, next: number): boolean {
    const want = integer('AtomicCounter.compareAndSet()', expected);
    return Atomics.compareExchange(this.#cell, 0, want, integer('AtomicCounter.compareAndSet()', next)) === want;
  }

  toRecord(): SyncRecord {
    return makeRecord('AtomicCounter', { buffer: this.#cell.buffer });
  }
}

registerKind('AtomicCounter', AtomicCounter, (record) => new AtomicCounter(new Adopted(record) as unknown as number));
