/**
 * Large buffers copied by moving. Cloning an ArrayBuffer into a worker thread copies it twice:
 * into the message here, then out of the message in the worker, which pays for the second
 * copy before it can start the task (and a result, the other way, makes the caller's thread
 * pay for it). For a call whose large buffers are in plain sight (its
 * arguments are primitives, ArrayBuffers and views of them), each is copied once here and the
 * copy moved instead. The caller keeps its buffer; the task gets a buffer of its own with the
 * layout a clone would give it (the whole buffer, the view's offset and length, a Buffer as a
 * Uint8Array), and two arguments that share a buffer still share one. Everything is read as
 * a clone reads it, through the built-in getters, never a subclass's or an own property.
 */

/** Buffers smaller than this are cloned: moving pays only for large ones. */
export const MOVE_MIN_BYTES = 64 * 1024;

type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;
type Getter = (this: unknown) => unknown;

const getter = (proto: object, key: PropertyKey): Getter => Object.getOwnPropertyDescriptor(proto, key)?.get as Getter;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArray = {
  name: getter(TypedArrayPrototype, Symbol.toStringTag),
  buffer: getter(TypedArrayPrototype, 'buffer'),
  byteOffset: getter(TypedArrayPrototype, 'byteOffset'),
  length: getter(TypedArrayPrototype, 'length'),
};
const dataView = { buffer: getter(DataView.prototype, 'buffer'), byteOffset: getter(DataView.prototype, 'byteOffset'), byteLength: getter(DataView.prototype, 'byteLength') };
const arrayBuffer = { byteLength: getter(ArrayBuffer.prototype, 'byteLength'), resizable: getter(ArrayBuffer.prototype, 'resizable') };

/** The typed array constructors by the name their built-in getter gives. */
const TYPED = new Map<unknown, ViewConstructor>(
  [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]
    .map((View) => [View.name, View as unknown as ViewConstructor]),
);

/** What a clone sees of one argument: a buffer's own bytes, or a view's buffer and place in it. */
interface Seen {
  buffer: ArrayBuffer;
  view: { View: ViewConstructor; byteOffset: number; length: number } | null;
}

/** How a clone sees `value`: undefined for shared memory (shared, not copied), null for anything but a buffer or a view. */
function see(value: object): Seen | null | undefined {
  if (!ArrayBuffer.isView(value)) {
    if (value instanceof SharedArrayBuffer) return undefined;
    if (!(value instanceof ArrayBuffer)) return null;
    arrayBuffer.byteLength.call(value); // throws for an object that only has the prototype (copyOut gives way)
    return { buffer: value, view: null };
  }
  const name = typedArray.name.call(value);
  const View = name === undefined ? DataView : TYPED.get(name);
  if (View === undefined) return null;
  const read = name === undefined ? dataView : typedArray;
  const buffer = read.buffer.call(value) as ArrayBuffer | SharedArrayBuffer;
  if (buffer instanceof SharedArrayBuffer) return undefined;
  const length = (name === undefined ? dataView.byteLength : typedArray.length).call(value) as number;
  return { buffer, view: { View, byteOffset: read.byteOffset.call(value) as number, length } };
}

/** Whether `buffer` is copied and moved: `minBytes` or more, and not resizable (a clone keeps that). */
function isLarge(buffer: ArrayBuffer, minBytes: number): boolean {
  return (arrayBuffer.byteLength.call(buffer) as number) >= minBytes && arrayBuffer.resizable?.call(buffer) !== true;
}

/** A copy of `buffer`'s bytes in a plain ArrayBuffer (slice() would call a subclass's constructor). */
function copyOf(buffer: ArrayBuffer): ArrayBuffer {
  const bytes = arrayBuffer.byteLength.call(buffer) as number;
  const copy = new ArrayBuffer(bytes);
  new Uint8Array(copy).set(new Uint8Array(buffer, 0, bytes));
  return copy;
}

type Moved = { args: unknown[]; transfer: ArrayBuffer[] };

/**
 * `args` with its large buffers replaced by copies to move, and the copies; null when it has
 * none, holds other objects, or anything gets in the way (the clone then says what).
 */
export function copyOut(args: readonly unknown[], minBytes = MOVE_MIN_BYTES): Moved | null {
  try {
    return copied(args, minBytes);
  } catch {
    return null;
  }
}

function copied(args: readonly unknown[], minBytes: number): Moved | null {
  // What moves: each argument's large buffer, or undefined (a primitive, shared or small: cloned).
  const moving: Array<Seen | undefined> = [];
  for (const arg of args) {
    if (typeof arg !== 'object' || arg === null) {
      if (typeof arg === 'function' || typeof arg === 'symbol') return null;
      moving.push(undefined);
      continue;
    }
    const s = see(arg);
    if (s === null) return null;
    moving.push(s !== undefined && isLarge(s.buffer, minBytes) ? s : undefined);
  }
  if (moving.every((s) => s === undefined)) return null;
  const copies = new Map<ArrayBuffer, ArrayBuffer>();
  const moved = args.map((arg, i) => {
    const s = moving[i];
    if (s === undefined) return arg;
    let copy = copies.get(s.buffer);
    if (copy === undefined) copies.set(s.buffer, (copy = copyOf(s.buffer)));
    return s.view === null ? copy : new s.view.View(copy, s.view.byteOffset, s.view.length);
  });
  return { args: moved, transfer: [...copies.values()] };
}
