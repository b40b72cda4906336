/** What a map reads: its inputs, pulled lazily as a source, and their number when it is known. */
import { InvalidTypeError } from './errors.js';

export type Source = {
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  return?(): unknown;
  async: boolean;
  /** Up to `n` next items at once; only for an array iterated the standard way. */
  take?(n: number): unknown[];
};

const arrayIterator = Array.prototype[Symbol.iterator];
const arrayIteratorNext = Object.getPrototypeOf([][Symbol.iterator]()).next as unknown;

/** Whether iterating `inputs` means reading its elements in order (nothing patched). */
function isPlainArray(inputs: unknown): inputs is unknown[] {
  return Array.isArray(inputs) && inputs[Symbol.iterator] === arrayIterator
    && Object.getPrototypeOf([][Symbol.iterator]()).next === arrayIteratorNext;
}

/** Reads `inputs` as a map pulls them: an array a chunk at a time, any other iterable (async too) an item at a time. */
export function openSource(inputs: unknown): Source {
  if (isPlainArray(inputs)) {
    // Sliced a chunk at a time (a native copy), read as lazily as iteration would: at each pull.
    let at = 0;
    return {
      next: () => (at < inputs.length ? { value: inputs[at++], done: false } : { value: undefined, done: true }),
      take(n) {
        const items = inputs.slice(at, at + n);
        at += items.length;
        return items;
      },
      async: false,
    };
  }
  if (inputs !== null && typeof inputs === 'object' && Symbol.asyncIterator in inputs) {
    const it = iteratorOf((inputs as AsyncIterable<unknown>)[Symbol.asyncIterator](), 'Symbol.asyncIterator');
    return { next: () => it.next(), return: () => it.return?.(), async: true };
  }
  if (inputs !== null && (typeof inputs === 'object' || typeof inputs === 'string') && Symbol.iterator in Object(inputs)) {
    const it = iteratorOf((inputs as Iterable<unknown>)[Symbol.iterator](), 'Symbol.iterator');
    return { next: () => it.next(), return: () => it.return?.(), async: false };
  }
  throw new InvalidTypeError('inputs must be an iterable or an async iterable');
}

/** What inputs' [Symbol.iterator]() (or asyncIterator) gave, checked to be an iterator: an object with next(). */
function iteratorOf<I>(it: I, method: string): I {
  if ((typeof it !== 'object' && typeof it !== 'function') || it === null || typeof (it as { next?: unknown }).next !== 'function') {
    const got = it === null ? 'null' : typeof it === 'object' ? 'an object without a next() method' : typeof it;
    throw new InvalidTypeError(`inputs[${method}]() must return an iterator (an object with a next() method); it returned ${got}`);
  }
  return it;
}

/** Whether map can iterate `inputs`: an iterable (a string too) or an async iterable. */
export function isIterableInput(inputs: unknown): boolean {
  if (typeof inputs === 'string') return true;
  if (typeof inputs !== 'object' || inputs === null) return false;
  return typeof (inputs as Iterable<unknown>)[Symbol.iterator] === 'function'
    || typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Whether starmap can spread `item` into a call's arguments: an array, or another iterable object. */
export function isArgumentList(item: unknown): boolean {
  return Array.isArray(item) || (typeof item === 'object' && item !== null && typeof (item as Iterable<unknown>)[Symbol.iterator] === 'function');
}

/** The number of inputs, when it is known without consuming them. */
export function knownLength(inputs: unknown): number | undefined {
  if (Array.isArray(inputs)) return inputs.length;
  if (ArrayBuffer.isView(inputs)) return (inputs as unknown as { length: number }).length;
  if (inputs instanceof Set || inputs instanceof Map) return inputs.size;
  return undefined;
}
