/**
 * Large buffers copied by moving. Cloning an ArrayBuffer into a worker thread copies it twice:
 * into the message here, then out of the message in the worker, which pays for the second
 * copy before it can start the task. For a call whose large buffers are in plain sight (its
 * arguments are primitives, ArrayBuffers and views of them), each is copied once here and the
 * copy moved instead. The caller keeps its buffer; the task gets a buffer of its own with the
 * layout a clone would give it (the whole buffer, the view's offset and length, a Buffer as a
 * Uint8Array), and two arguments that share a buffer still share one.
 */

/** Buffers smaller than this are cloned: moving pays only for large ones. */
export const MOVE_MIN_BYTES = 64 * 1024;

type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

const VIEWS: Record<string, ViewConstructor> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};

/** A view's kind, as a clone sees it: a Buffer is a Uint8Array. */
function tagOf(view: ArrayBufferView): string {
  return Object.prototype.toString.call(view).slice(8, -1);
}

/** The buffer under `value` when it is an ArrayBuffer or a view of one; undefined for shared memory; null for anything else. */
function bufferUnder(value: object): ArrayBuffer | null | undefined {
  if (value instanceof ArrayBuffer) return value;
  if (!ArrayBuffer.isView(value)) return null;
  const buffer: unknown = value.buffer;
  return buffer instanceof ArrayBuffer ? buffer : undefined;
}

type Moved = { args: unknown[]; transfer: ArrayBuffer[] };

/**
 * `args` with its large buffers replaced by copies to move, and the copies; null when it has
 * none, holds other objects, or a getter or subclass gets in the way (the clone then says what).
 */
export function copyOut(args: readonly unknown[]): Moved | null {
  try {
    return copied(args);
  } catch {
    return null;
  }
}

function copied(args: readonly unknown[]): Moved | null {
  let copies = null as Map<ArrayBuffer, ArrayBuffer> | null;
  for (const arg of args) {
    if (typeof arg !== 'object' || arg === null) {
      if (typeof arg === 'function' || typeof arg === 'symbol') return null;
      continue;
    }
    const buffer = bufferUnder(arg);
    if (buffer === null || (ArrayBuffer.isView(arg) && VIEWS[tagOf(arg)] === undefined)) return null;
    if (buffer === undefined || buffer.byteLength < MOVE_MIN_BYTES || (buffer as { resizable?: boolean }).resizable === true) continue;
    copies ??= new Map<ArrayBuffer, ArrayBuffer>();
    if (!copies.has(buffer)) copies.set(buffer, buffer.slice(0));
  }
  if (copies === null) return null;
  const moved = args.map((arg) => {
    if (typeof arg !== 'object' || arg === null) return arg;
    const copy = copies.get(bufferUnder(arg) as ArrayBuffer);
    if (copy === undefined) return arg;
    if (!ArrayBuffer.isView(arg)) return copy;
    const View = VIEWS[tagOf(arg)];
    const length = arg instanceof DataView ? arg.byteLength : (arg as unknown as { length: number }).length;
    return new View(copy, arg.byteOffset, length);
  });
  return { args: moved, transfer: [...copies.values()] };
}
