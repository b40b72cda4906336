/**
 * Marks a task's result to be moved to the caller rather than copied:
 * `return transfer(pixels, [pixels.buffer])` inside a task.
 */
import type { TransferListItem } from 'node:worker_threads';
import { util } from './builtins.js';
import { InvalidTypeError } from './errors.js';

/** A value that can be moved to another thread instead of copied (an ArrayBuffer, a MessagePort, ...). */
export type Transferable = TransferListItem;

const kTransfer = Symbol.for('forkjoin.transfer');

export interface Transferred<T> {
  readonly value: T;
  readonly transferList: readonly Transferable[];
}

/** Wraps a task's return value so its buffers are transferred, not copied, to the caller. */
export function transfer<T>(value: T, transferList: readonly Transferable[]): T {
  if (typeof transferList !== 'object' || transferList === null || typeof (transferList as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    const got = transferList === null ? 'null' : typeof transferList === 'object' ? 'an object that is not iterable' : typeof transferList;
    throw new InvalidTypeError(`transfer(value, list): list must be an array (or an iterable) of what to move, such as [pixels.buffer]; got ${got}`);
  }
  return { [kTransfer]: true, value, transferList } as unknown as T;
}

export function isTransferred(value: unknown): value is Transferred<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}

/**
 * A task's result as it goes back: the value a transfer() wrapper holds (its list handed to
 * `move`, where there is another thread to move it to), else the result itself, also when it
 * cannot even be read (a hostile Proxy).
 */
export function untransferred(value: unknown, move?: (list: readonly Transferable[]) => void): unknown {
  try {
    if (!isTransferred(value)) return value;
  } catch {
    return value;
  }
  try {
    const inner = value.value;
    move?.(value.transferList);
    return inner;
  } catch {
    return value; // a Proxy posing as a wrapper: sent as it is, and refused (salvage)
  }
}

/**
 * Whether `value` is an ArrayBuffer, or a view of one, whose memory was transferred away: it
 * reads as empty, so it would arrive empty where a clone did not refuse it. (Node 20 has no
 * `detached` getter: only a detached buffer refuses a view over it.)
 */
export function isDetached(value: unknown): boolean {
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value;
  if (!util().types.isArrayBuffer(buffer)) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A transfer list without repeats: postMessage refuses an object listed twice, which moves once anyway. */
export function withoutRepeats(list: Transferable[]): Transferable[] {
  return list.length < 2 ? list : [...new Set(list)];
}

/** A task's result to await (a promise, or any object with a then()), null when it is none, or what looking at it threw. */
export function awaitable(value: unknown): { promise: Promise<unknown> } | { thrown: unknown } | null {
  try {
    return isThenable(value) ? { promise: Promise.resolve(value) } : null;
  } catch (thrown) {
    return { thrown };
  }
}

/** Whether a task's result is a promise, or any object with a then() to await. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
