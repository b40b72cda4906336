/**
 * Marks a task's result to be moved to the caller rather than copied:
 * `return transfer(pixels, [pixels.buffer])` inside a task.
 */
import type { TransferListItem } from 'node:worker_threads';

/** A value that can be moved to another thread instead of copied (an ArrayBuffer, a MessagePort, ...). */
export type Transferable = TransferListItem;

const kTransfer = Symbol.for('forkjoin.transfer');

export interface Transferred<T> {
  readonly value: T;
  readonly transferList: readonly Transferable[];
}

/** Wraps a task's return value so its buffers are transferred, not copied, to the caller. */
export function transfer<T>(value: T, transferList: readonly Transferable[]): T {
  return { [kTransfer]: true, value, transferList } as unknown as T;
}

export function isTransferred(value: unknown): value is Transferred<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}
