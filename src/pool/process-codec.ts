/**
 * How ProcessPool messages are written: the parent's to a child on the IPC channel, a child's on
 * its pipe of frames (frames.ts). Node's own 'advanced' serialization revives each typed array,
 * DataView or Buffer as a view into the channel's read buffer, which holds other messages'
 * bytes or is a slab of Node's Buffer pool. Each message is serialized here instead, sent as one
 * Buffer, and revived so that every view's ArrayBuffer holds only bytes the message sent with
 * its views.
 *
 * Views keep sharing as structured clone keeps it: those over one ArrayBuffer arrive over one,
 * each at its place. What goes is the span of that buffer from where its first view starts to
 * where its last one ends, not the whole buffer: a lone view (the common case) still owns
 * exactly its bytes, a Buffer does not carry the rest of its pool slab, and views into part of
 * a large buffer carry that part. Their offsets are kept from the span's start, so they sit as
 * they did relative to each other. A span is known only once the whole value is written, so
 * each view is written as its place and the bytes come after the value:
 *
 *   [header][value, each view as: kind, buffer number, byteOffset, byteLength]
 *   [each buffer's span of bytes, in number order][each span's start and length][count]
 *
 * The reader takes the spans from the end, copies each into an ArrayBuffer, then reads the
 * value. A view's bytes are copied once each way, as when they were written in place.
 */
import { v8 } from '../builtins.js';

const VIEW = 0;
const OTHER = 1;

type V8 = typeof import('node:v8');
// Node's hooks for host objects (array buffer views), which @types/node leaves out.
type HostSerializer = import('node:v8').Serializer & { _writeHostObject(object: object): void };
type HostDeserializer = import('node:v8').Deserializer & { _readHostObject(): unknown };
export type ViewType = (new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView) & { BYTES_PER_ELEMENT?: number };
interface Codec {
  encode(value: unknown): Buffer;
  decode(bytes: Uint8Array): unknown;
}

let codec: Codec | null = null;

/** The kinds of view, by the index both sides write (one Node binary runs both, so they agree). */
const viewTypes = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, BigInt64Array, BigUint64Array, Buffer,
] as unknown as ViewType[];
const viewIndex = new Map<string, number>(viewTypes.map((Type, i) => [Type.name, i]));

/** The built-in kind of `view`, for a subclass too (as structured clone sends it). */
function kindOf(view: ArrayBufferView): string {
  return Buffer.isBuffer(view) ? 'Buffer' : view instanceof DataView ? 'DataView' : (view as Uint8Array)[Symbol.toStringTag];
}

/**
 * Throws for a view over a SharedArrayBuffer, which cannot go `to` another process or machine as
 * the buffer itself cannot: its bytes would arrive as a copy, and the task's writes through it be lost.
 */
export function refuseShared(view: ArrayBufferView, to: string): void {
  if (view.buffer instanceof SharedArrayBuffer) throw new TypeError(`${kindOf(view)} over a SharedArrayBuffer cannot be sent to ${to}, which shares no memory with this process`);
}

function viewTypeOf(view: ArrayBufferView): number {
  const name = kindOf(view);
  const index = viewIndex.get(name);
  if (index === undefined) throw new TypeError(`${name} cannot be sent to another process`);
  return index;
}

/** A view of `Type` (a Buffer, a typed array, a DataView) over `byteLength` bytes of `buffer` from `byteOffset`. */
function viewOver(Type: ViewType, buffer: ArrayBuffer, byteOffset: number, byteLength: number): ArrayBufferView {
  if ((Type as unknown) === Buffer) return Buffer.from(buffer, byteOffset, byteLength);
  return new Type(buffer, byteOffset, byteLength / (Type.BYTES_PER_ELEMENT ?? 1));
}

/** A view of `Type` (a Buffer, a typed array, a DataView) over its own copy of `bytes`, and nothing else. */
export function viewOwning(Type: ViewType, bytes: Uint8Array): ArrayBufferView {
  return viewOver(Type, copyOf(bytes), 0, bytes.byteLength);
}

function copyOf(bytes: Uint8Array): ArrayBuffer {
  const own = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(own).set(bytes);
  return own;
}

/** The part of one ArrayBuffer that a message's views cover, and the number its views name it by. */
interface Span {
  index: number;
  start: number;
  end: number;
  views: number;
}

/** A span's copy, and where it started in the buffer it was taken from. */
interface Revived {
  own: ArrayBuffer;
  start: number;
}

/** The largest element of a view (a Float64Array's, a BigInt64Array's): a view's offset is a multiple of its own. */
const ALIGN = 8;
/** Bytes per number in the table of spans at a message's end (a double: a buffer may pass 4 GiB). */
const ENTRY = 8;
/** The table of a message without views: a count of 0. */
const NO_SPANS = new Uint8Array(ENTRY);

/** The copies of the spans at the end of `bytes`, in number order. */
function spansOf(bytes: Uint8Array): Revived[] {
  const table = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const countAt = bytes.byteLength - ENTRY;
  const count = countAt < 0 ? -1 : table.getFloat64(countAt, true);
  const tableAt = countAt - 2 * ENTRY * count;
  // Bytes sent by other means (a task's own process.send) must fail to read, not loop or misread.
  if (!Number.isSafeInteger(count) || count < 0 || tableAt < 0) throw new TypeError('What came over the channel is not a message of this pool');
  if (count === 0) return [];
  let valueEnd = tableAt;
  for (let at = tableAt; at < countAt; at += 2 * ENTRY) {
    const length = table.getFloat64(at + ENTRY, true);
    if (!Number.isSafeInteger(length) || length < 0) throw new TypeError('What came over the channel is not a message of this pool');
    valueEnd -= length;
  }
  if (valueEnd < 0) throw new TypeError('What came over the channel is not a message of this pool');
  const buffers: Revived[] = [];
  for (let at = tableAt, from = valueEnd; at < countAt; at += 2 * ENTRY) {
    const length = table.getFloat64(at + ENTRY, true);
    // Copied out: the message is a view into the channel's read buffer.
    buffers.push({ own: copyOf(new Uint8Array(bytes.buffer, bytes.byteOffset + from, length)), start: table.getFloat64(at, true) });
    from += length;
  }
  return buffers;
}

function makeCodec({ DefaultSerializer, DefaultDeserializer }: V8): Codec {
  const SerializerBase = DefaultSerializer as unknown as new () => HostSerializer;
  const DeserializerBase = DefaultDeserializer as unknown as new (bytes: Uint8Array) => HostDeserializer;
  // A view is written as its bytes; another host object as its own properties, as Node's channel
  // does (process.env arrives as a copy). One with none (a Blob, a KeyObject, a BlockList) would
  // arrive as {}: it cannot be sent.
  class Serializer extends SerializerBase {
    /** The buffers under the value's views, numbered in the order first met. */
    readonly #spans = new Map<ArrayBufferLike, Span>();

    override _writeHostObject(object: object): void {
      if (!ArrayBuffer.isView(object)) {
        const own = { ...object };
        if (Object.keys(own).length === 0) {
          const name = (Object.getPrototypeOf(object) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
          throw new TypeError(`${typeof name === 'string' && name !== '' ? name : 'This host object'} cannot be sent to another process`);
        }
        this.writeUint32(OTHER);
        this.writeValue(own);
        return;
      }
      // Its bytes would arrive as a copy, and the task's writes (Atomics, result slots) be lost.
      refuseShared(object, 'another process');
      const { buffer, byteOffset, byteLength } = object;
      const end = byteOffset + byteLength;
      let span = this.#spans.get(buffer);
      if (span === undefined) this.#spans.set(buffer, span = { index: this.#spans.size, start: byteOffset, end, views: 1 });
      else {
        span.start = Math.min(span.start, byteOffset);
        span.end = Math.max(span.end, end);
        span.views++;
      }
      this.writeUint32(VIEW);
      this.writeUint32(viewTypeOf(object));
      this.writeUint32(span.index);
      this.writeDouble(byteOffset);
      this.writeDouble(byteLength);
    }

    /** After the value: the bytes its views cover, buffer by buffer, then where each span starts and how long it is. */
    writeSpans(): void {
      if (this.#spans.size === 0) {
        this.writeRawBytes(NO_SPANS);
        return;
      }
      const table = new DataView(new ArrayBuffer(ENTRY * (2 * this.#spans.size + 1)));
      let at = 0;
      for (const [buffer, { start: first, end, views }] of this.#spans) {
        // Several views keep their alignment (a Float64Array at 8 beside a Uint8Array at 1) from a
        // start that is a multiple of 8; a lone one goes from its own start, at offset 0.
        const start = views > 1 ? first - (first % ALIGN) : first;
        this.writeRawBytes(new Uint8Array(buffer, start, end - start));
        table.setFloat64(at, start, true);
        table.setFloat64(at + ENTRY, end - start, true);
        at += 2 * ENTRY;
      }
      table.setFloat64(at, this.#spans.size, true);
      this.writeRawBytes(new Uint8Array(table.buffer));
    }
  }
  class Deserializer extends DeserializerBase {
    /** The spans' copies, by the number views name them with. */
    readonly #buffers: readonly Revived[];

    constructor(bytes: Uint8Array, buffers: readonly Revived[]) {
      super(bytes);
      this.#buffers = buffers;
    }

    override _readHostObject(): unknown {
      if (this.readUint32() !== VIEW) return this.readValue();
      const Type = viewTypes[this.readUint32()];
      if (Type === undefined) throw new TypeError('A view of an unknown kind came over the channel');
      const span = this.#buffers[this.readUint32()];
      if (span === undefined) throw new TypeError('A view of a buffer the message does not hold came over the channel');
      const byteOffset = this.readDouble() - span.start;
      return viewOver(Type, span.own, byteOffset, this.readDouble());
    }
  }
  return {
    encode(value) {
      const serializer = new Serializer();
      serializer.writeHeader();
      serializer.writeValue(value);
      serializer.writeSpans();
      return serializer.releaseBuffer();
    },
    decode(bytes) {
      // The reader stops at the value's end: the spans and their table after it are left unread.
      const deserializer = new Deserializer(bytes, spansOf(bytes));
      deserializer.readHeader();
      return deserializer.readValue();
    },
  };
}

/** `message` as the bytes to send over the channel. */
export function encodeMessage(message: unknown): Buffer {
  codec ??= makeCodec(v8());
  return codec.encode(message);
}

/** The message that `received` carries: a value sent without encodeMessage (a task's own process.send) is kept as is. */
export function decodeMessage(received: unknown): unknown {
  if (!(received instanceof Uint8Array)) return received;
  codec ??= makeCodec(v8());
  return codec.decode(received);
}
