/**
 * A call's own copy of its arguments, taken when it is submitted. A call waits in the pool
 * (for a worker, or for the microtask that sends a burst of calls in one message) before its
 * arguments are cloned into a message; without a copy taken at once, a caller that reused an
 * object or a buffer for its next call (a scratch array filled in a loop) would change what an
 * earlier call's task received. Arguments that are all primitives need no copy.
 */
import { isProxy, util } from '../builtins.js';
import { isDetached, withoutRepeats, type Transferable } from '../transfer.js';
import { namedKeys } from './clone.js';
import { copyOut } from './copy-out.js';
import { decodeMessage, encodeMessage } from './process-codec.js';
import { TaskFlag } from './protocol.js';

export interface Snapshot {
  args: unknown[];
  /** The caller's values in a list of the call's own, when a recopy makes the copy anew from them (their buffers moved). */
  source?: unknown[];
  /** What to move when the call is sent: buffers of the copy, which nothing else holds. */
  transfer: Transferable[] | undefined;
  /** When the copy's buffers move on sending: a copy made anew from the caller's arguments, for a call sent again (refresh). */
  recopy: Recopy | null;
}

type Recopy = () => { args: unknown[]; transfer: Transferable[] } | null;

/**
 * The copy of `args` a call keeps, or null when they need none. `moves`: the workers are
 * threads, so a copy of arguments that are buffers and views (a copy made once, here) is moved
 * to them rather than copied again, unless the call may be sent again for a retry, which needs
 * it whole. Other values are cloned here and cloned again when sent. `transfer` (the caller's
 * list) is moved into the copy now: those buffers are detached here when the call is made.
 */
export function snapshot(args: unknown[], transfer: Transferable[] | undefined, moves: boolean, retries: number): Snapshot | null {
  if (transfer === undefined && primitivesOnly(args)) return null;
  // A buffer moved away earlier reads as empty: moved again, the task would get an empty buffer.
  if (transfer?.some(isDetached)) throw new DOMException('An ArrayBuffer in the transfer list is detached and could not be transferred.', 'DataCloneError');
  const keep = !moves || retries > 0;
  if (transfer === undefined && moves && !holdsResizable(args)) {
    // Arguments that are primitives, buffers and views: each buffer copied once, as a clone lays it out.
    const copied = copyOut(args, 0);
    if (copied !== null && keep) return { args: copied.args, transfer: undefined, recopy: null };
    // Made anew from a list of its own: the caller may reuse its array (its buffers it may refill: what was passed is sent).
    const source = ownList(args);
    if (copied !== null) return { args: copied.args, transfer: copied.transfer, recopy: () => copyOut(source, 0), source };
  }
  // A child process gets the copy through the channel's own codec (it keeps a Buffer a Buffer).
  if (!moves) return { args: decodeMessage(encodeMessage(args)) as unknown[], transfer, recopy: null };
  if (transfer === undefined) return { args: ownCopy(args) as unknown[], transfer: undefined, recopy: null };
  const copy = structuredClone(args, { transfer: withoutRepeats(transfer) }) as unknown[];
  if (keep) return { args: copy, transfer: undefined, recopy: null };
  const owned = buffersIn(copy);
  return { args: copy, transfer: owned.length === 0 ? undefined : owned, recopy: null };
}

/**
 * A map chunk's copy: none when its inputs are packed numbers or primitives; inputs that are
 * buffers and views copied once and moved to a thread (as `run()` moves its copy), unless the
 * chunk may be sent again for a retry; others as any call's arguments.
 */
function chunkSnapshot(args: unknown[], moves: boolean, retries: number): Snapshot | null {
  const items = args[0];
  if (!chunkNeedsCopy(items)) return null;
  if (moves && retries === 0 && Array.isArray(items) && !holdsResizable(items)) {
    const recopy: Recopy = () => {
      const copied = copyOut(items, 0);
      return copied === null ? null : { args: [copied.args], transfer: copied.transfer };
    };
    const first = recopy();
    if (first !== null) return { ...first, recopy };
  }
  return snapshot(args, undefined, moves, retries);
}

/**
 * The arguments and options a call keeps: its own copy (for a map's chunk, unless its inputs
 * are primitives), or the caller's arguments with `uncloneable` set when no copy could be made
 * (the call then fails, naming what could not be sent). `passed`: what rerunLocally() runs, the
 * copy, or, when the copy's buffers move to the worker, the values it is made from.
 */
export function ownArguments<O extends { flags: number; transfer: Transferable[] | undefined; retries: number }>(
  args: unknown[], options: O, moves: boolean,
): { args: unknown[]; passed: unknown[]; options: O; recopy: Recopy | null; uncloneable: { cause: unknown } | null } {
  let own: Snapshot | null;
  const chunk = (options.flags & TaskFlag.Chunk) !== 0;
  try {
    own = chunk ? chunkSnapshot(args, moves, options.retries) : snapshot(args, options.transfer, moves, options.retries);
  } catch (cause) {
    return { args, passed: args, options, recopy: null, uncloneable: { cause } };
  }
  if (own === null) {
    // Nothing in them to copy, but the array is the caller's, which it may reuse for its next call
    // (a map's chunk is the map's own).
    const list = chunk ? args : ownList(args);
    return { args: list, passed: list, options, recopy: null, uncloneable: null };
  }
  const o = own.transfer === options.transfer ? options : { ...options, transfer: own.transfer };
  // What rerunLocally runs: the copy, or, when its buffers move to the worker, the values it is made from (held for a recopy anyway).
  return { args: own.args, passed: own.source ?? own.args, options: o, recopy: own.recopy, uncloneable: null };
}

/**
 * `args`' values in an array of the call's own, read index by index: not slice(), which would call an
 * Array subclass's constructor. A Proxy of a list is kept as it is (sent as it is, it is refused).
 */
export function ownList(args: unknown[]): unknown[] {
  if (isProxy(args)) return args;
  const list = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) list[i] = args[i];
  return list;
}

/**
 * Before a call is sent again (its worker died before it started): a copy whose buffers moved
 * to that worker is made anew from the caller's arguments. False when its buffers are gone
 * for good: the caller's own, moved with `transfer`.
 */
export function refresh(call: { args: unknown[]; options: { transfer: Transferable[] | undefined }; recopy: Recopy | null }): boolean {
  const moved = call.options.transfer;
  if (moved === undefined || !moved.some(isDetached)) return true;
  const again = call.recopy?.() ?? null;
  if (again === null) return false;
  call.args = again.args;
  call.options = { ...call.options, transfer: again.transfer };
  return true;
}

/** Whether an argument is a resizable ArrayBuffer or a view of one (a clone keeps it resizable: copyOut leaves it alone). */
function holdsResizable(args: readonly unknown[]): boolean {
  for (const arg of args) {
    const buffer = arg instanceof ArrayBuffer ? arg : ArrayBuffer.isView(arg) ? arg.buffer : null;
    if (buffer instanceof ArrayBuffer && (buffer as { resizable?: boolean }).resizable === true) return true;
  }
  return false;
}

/** Met where a copy in JavaScript would not keep what it holds: the whole value is cloned instead. */
const CLONE_WHOLE = Symbol('clone whole');

/**
 * A copy of `value` as the task will see it, made in JavaScript where that is cheaper than a
 * structured clone (which would serialize it only to read it back): arrays, plain objects, Maps
 * and Sets are copied (an array of primitives with slice()), buffers and views copied with their
 * layout, shared memory kept, dates, regexps and boxed primitives (which hold no other object)
 * cloned alone. Shared references and cycles are kept, as a clone keeps them. A class instance,
 * an Error or a host object is cloned by the serializer, which alone knows what it holds: the
 * whole value is cloned then, so that what it shares with the rest stays shared. What cannot be
 * cloned fails the call, naming where: a function when the call is sent, what the serializer
 * refuses at once, and a Proxy, as a clone refuses it (a copy would read it through its traps).
 */
function ownCopy(root: unknown): unknown {
  const { isProxy, isMap, isSet, isDate, isRegExp, isBoxedPrimitive } = util().types;
  const copies = new Map<object, unknown>();
  const copy = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const known = copies.get(value);
    if (known !== undefined) return known;
    if (isProxy(value)) throw new DOMException('A Proxy could not be cloned.', 'DataCloneError');
    if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
      const out = remember(value, value.slice()) as unknown[];
      if (!primitivesOnly(value)) {
        for (let i = 0; i < out.length; i++) if (typeof out[i] === 'object' && out[i] !== null) out[i] = copy(out[i]);
      }
      for (const key of namedKeys(value)) (out as unknown as Record<string, unknown>)[key] = copy((value as unknown as Record<string, unknown>)[key]);
      return out;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out = remember(value, proto === null ? Object.create(null) : {}) as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (key === '__proto__') Object.defineProperty(out, key, { value: copy(item), writable: true, enumerable: true, configurable: true });
        else out[key] = copy(item);
      }
      return out;
    }
    if (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)) return value;
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      // Views of one buffer keep sharing one copy, as a clone keeps them.
      const buffer = value instanceof ArrayBuffer ? value : value.buffer;
      if ((buffer as { resizable?: boolean }).resizable === true) return remember(value, structuredClone(value));
      let bufferCopy = copies.get(buffer) as ArrayBuffer | undefined;
      if (bufferCopy === undefined) bufferCopy = remember(buffer, copyOut([buffer], 0)?.args[0] ?? buffer.slice(0)) as ArrayBuffer;
      return value instanceof ArrayBuffer ? bufferCopy : remember(value, viewOn(value, bufferCopy));
    }
    // A clone reads a Map's or a Set's entries and nothing else (a subclass's methods, own properties).
    if (isMap(value)) {
      const out = remember(value, new Map()) as Map<unknown, unknown>;
      Map.prototype.forEach.call(value, (item: unknown, key: unknown) => out.set(copy(key), copy(item)));
      return out;
    }
    if (isSet(value)) {
      const out = remember(value, new Set()) as Set<unknown>;
      Set.prototype.forEach.call(value, (item: unknown) => out.add(copy(item)));
      return out;
    }
    if (isDate(value) || isRegExp(value) || isBoxedPrimitive(value)) return remember(value, structuredClone(value));
    throw CLONE_WHOLE;
  };
  const remember = (value: object, out: unknown): unknown => {
    copies.set(value, out);
    return out;
  };
  try {
    return copy(root);
  } catch (thrown) {
    if (thrown !== CLONE_WHOLE) throw thrown;
  }
  return structuredClone(root);
}

type ViewConstructor = new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView;
/** The built-in views by their tag: a Buffer or a subclass arrives as the built-in kind, as a clone gives it. */
const VIEWS = new Map<string, ViewConstructor>([
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, DataView,
].map((View) => [View.name, View as unknown as ViewConstructor]));

/** `view`'s kind and place, over `buffer` (its buffer's copy). */
function viewOn(view: ArrayBufferView, buffer: ArrayBuffer): ArrayBufferView {
  if (view instanceof DataView) return new DataView(buffer, view.byteOffset, view.byteLength);
  const typed = view as Uint8Array;
  const View = VIEWS.get(typed[Symbol.toStringTag]) ?? Uint8Array;
  return new View(buffer, typed.byteOffset, typed.length);
}

/** Whether a map chunk's inputs need a copy: not when they are packed numbers or all primitives. */
function chunkNeedsCopy(items: unknown): boolean {
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
