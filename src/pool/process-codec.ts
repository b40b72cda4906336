/**
 * How ProcessPool messages cross the IPC channel. Node's own 'advanced' serialization
 * revives each typed array, DataView or Buffer as a view into the channel's read buffer,
 * which holds other messages' bytes or is a slab of Node's Buffer pool. Each message is
 * serialized here instead, sent as one Buffer, and revived so that every view owns an
 * ArrayBuffer of exactly its bytes.
 */
import { v8 } from '../builtins.js';

const VIEW = 0;
const OTHER = 1;

type V8 = typeof import('node:v8');
// Node's hooks for host objects (array buffer views), which @types/node leaves out.
type HostSerializer = import('node:v8').Serializer & { _writeHostObject(object: object): void };
type HostDeserializer = import('node:v8').Deserializer & { _readHostObject(): unknown; readRawBytes(length: number): Buffer };
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

function viewTypeOf(view: ArrayBufferView): number {
  const name = kindOf(view);
  const index = viewIndex.get(name);
  if (index === undefined) throw new TypeError(`${name} cannot be sent to another process`);
  return index;
}

/** A view of `Type` (a Buffer, a typed array, a DataView) over its own copy of `bytes`, and nothing else. */
export function viewOwning(Type: ViewType, bytes: Uint8Array): ArrayBufferView {
  const own = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(own).set(bytes);
  if ((Type as unknown) === Buffer) return Buffer.from(own);
  return new Type(own, 0, bytes.byteLength / (Type.BYTES_PER_ELEMENT ?? 1));
}

function makeCodec({ DefaultSerializer, DefaultDeserializer }: V8): Codec {
  const SerializerBase = DefaultSerializer as unknown as new () => HostSerializer;
  const DeserializerBase = DefaultDeserializer as unknown as new (bytes: Uint8Array) => HostDeserializer;
  // A view is written as its bytes; another host object as its own properties, as Node's channel
  // does (process.env arrives as a copy). One with none (a Blob, a KeyObject, a BlockList) would
  // arrive as {}: it cannot be sent.
  class Serializer extends SerializerBase {
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
      if (object.buffer instanceof SharedArrayBuffer) throw new TypeError(`${kindOf(object)} over a SharedArrayBuffer cannot be sent to another process: processes share no memory`);
      this.writeUint32(VIEW);
      this.writeUint32(viewTypeOf(object));
      this.writeUint32(object.byteLength);
      this.writeRawBytes(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
    }
  }
  class Deserializer extends DeserializerBase {
    override _readHostObject(): unknown {
      if (this.readUint32() !== VIEW) return this.readValue();
      const Type = viewTypes[this.readUint32()];
      if (Type === undefined) throw new TypeError('A view of an unknown kind came over the channel');
      // Copied out of the message: the view owns an ArrayBuffer of exactly its bytes.
      return viewOwning(Type, this.readRawBytes(this.readUint32()));
    }
  }
  return {
    encode(value) {
      const serializer = new Serializer();
      serializer.writeHeader();
      serializer.writeValue(value);
      return serializer.releaseBuffer();
    },
    decode(bytes) {
      const deserializer = new Deserializer(bytes);
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
