/**
 * A call's own copy of its arguments, taken when it is submitted. A call waits in the pool
 * (for a worker, or for the microtask that sends a burst of calls in one message) before its
 * arguments are cloned into a message; without a copy taken at once, a caller that reused an
 * object or a buffer for its next call (a scratch array filled in a loop) would change what an
 * earlier call's task received. Arguments that are all primitives need no copy.
 */
import { withoutRepeats, type Transferable } from '../transfer.js';
import { copyOut } from './copy-out.js';
import { decodeMessage, encodeMessage } from './process-codec.js';

export interface Snapshot {
  args: unknown[];
  /** What to move when the call is sent: buffers of the copy, which nothing else holds. */
  transfer: Transferable[] | undefined;
}

/**
 * The copy of `args` a call keeps, or null when they need none. `moves`: the workers are
 * threads, so the copy's buffers can be moved to them rather than copied again, unless the call
 * may be sent again (`retries`), which needs them whole. `transfer` (the caller's list) is moved
 * into the copy now: those buffers are detached here when the call is made.
 */
export function snapshot(args: unknown[], transfer: Transferable[] | undefined, moves: boolean, retries: number): Snapshot | null {
  if (transfer === undefined && primitivesOnly(args)) return null;
  const keep = !moves || retries > 0;
  if (transfer === undefined && moves) {
    // Arguments that are primitives, buffers and views: each buffer copied once, as a clone lays it out.
    const copied = copyOut(args, 0);
    if (copied !== null) return { args: copied.args, transfer: keep ? undefined : copied.transfer };
  }
  // A child process gets the copy through the channel's own codec (it keeps a Buffer a Buffer).
  if (!moves) return { args: decodeMessage(encodeMessage(args)) as unknown[], transfer };
  const copy = structuredClone(args, transfer !== undefined ? { transfer: withoutRepeats(transfer) } : undefined) as unknown[];
  if (keep) return { args: copy, transfer: undefined };
  const owned = buffersIn(copy);
  return { args: copy, transfer: owned.length === 0 ? undefined : owned };
}

/** Whether a map chunk's inputs need a copy: not when they are packed numbers or all primitives. */
export function chunkNeedsCopy(items: unknown): boolean {
  return !ArrayBuffer.isView(items) && !primitivesOnly(items as unknown[]);
}

function primitivesOnly(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item === 'object' ? item !== null : typeof item === 'function') return false;
  }
  return true;
}

/** The ArrayBuffers and MessagePorts inside a structured clone's output (all of them its own). */
function buffersIn(root: unknown[]): Transferable[] {
  const found: Transferable[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (value instanceof ArrayBuffer) found.push(value);
    else if (ArrayBuffer.isView(value)) stack.push(value.buffer);
    else if (Array.isArray(value)) for (const item of value) stack.push(item);
    else if (value instanceof Map) for (const [key, item] of value) stack.push(key, item);
    else if (value instanceof Set) for (const item of value) stack.push(item);
    else if (value.constructor?.name === 'MessagePort') found.push(value as Transferable);
    else if (!(value instanceof Date) && !(value instanceof RegExp) && !(value instanceof Error)) {
      for (const key of Object.keys(value)) stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return found;
}
