/**
 * What a key can see of a value. Plain data (arrays, plain objects, Maps, Sets, Dates, RegExps,
 * buffers and views, boxed primitives) is keyed by its content. Anything else (a class instance,
 * an error, a subclass of a built-in, a built-in given properties of its own, a function, a
 * symbol) may hold what no walk reads: private fields, accessors, closures, its class. Such a
 * value is keyed by its identity within this process, never by content.
 */

/** Prototypes of the values keyed by content; an instance of any other class (a subclass of these too) may hold private state. */
const DATA_PROTOTYPES = new Set<unknown>([
  Object.prototype, null, Array.prototype, Map.prototype, Set.prototype, Date.prototype, RegExp.prototype,
  ArrayBuffer.prototype, DataView.prototype, Number.prototype, String.prototype, Boolean.prototype, BigInt.prototype,
  ...[Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array].map((c) => c.prototype),
]);

/** Built-ins whose content is not their own properties: one given a property of its own (a RegExp's lastIndex aside) holds what a key does not see. */
const NO_OWN_KEYS = new Set<unknown>([Map.prototype, Set.prototype, Date.prototype, RegExp.prototype, ArrayBuffer.prototype, DataView.prototype]);

/** Whether a key sees all of `v` (one level: its parts are looked at as they are met). */
export function isData(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  if (!DATA_PROTOTYPES.has(proto)) return Buffer.isBuffer(v) && proto === Buffer.prototype;
  if (!NO_OWN_KEYS.has(proto)) return true;
  return Reflect.ownKeys(v).length === (proto === RegExp.prototype ? 1 : 0);
}

/** The number of each value keyed by identity; a symbol in the global registry cannot be held weakly. */
const ids = new WeakMap<object | symbol, number>();
const registered = new Map<symbol, number>();
let nextId = 1;

/** A number that stands for `v` in this process only: the same value always gets the same one, no two values share one. */
export function identityOf(v: object | symbol): number {
  const held: Map<symbol, number> | WeakMap<object | symbol, number> = typeof v === 'symbol' && Symbol.keyFor(v) !== undefined ? registered : ids;
  let id = (held as WeakMap<object | symbol, number>).get(v);
  if (id === undefined) (held as WeakMap<object | symbol, number>).set(v, (id = nextId++));
  return id;
}
