/**
 * The canonical encoding of a task's arguments, hashed as it is walked: equal
 * values give equal words whatever the key order of their objects or the
 * insertion order of their Maps and Sets. Delayed values met on the way become
 * references to the node's dependencies; values with no stable content
 * (functions, symbols, shared memory) are hashed by identity and make the node
 * uncacheable.
 */
import { InvalidTypeError } from '../errors.js';
import { Hasher, type Digest } from './hash.js';

const T = Object.freeze({
  UNDEFINED: 0x75, NULL: 0x6e, TRUE: 0x74, FALSE: 0x66, STRING: 0x73, BIGINT: 0x62,
  ARRAY: 0x61, OBJECT: 0x6f, INSTANCE: 0x69, DEP: 0x64, CYCLE: 0x63, OPAQUE: 0x71,
  DATE: 0x44, REGEXP: 0x52, MAP: 0x4d, SET: 0x53, VIEW: 0x56, BUFFER: 0x42, ERROR: 0x45, BOXED: 0x58,
  HOLE: 0x48,
});

/** What walking a call's arguments found besides the hash. */
export interface ArgsWalk<N> {
  /** The distinct dependencies, in order of first appearance; null when none. */
  deps: N[] | null;
  /** Arrays and plain objects that hold a Delayed somewhere inside; null when none. */
  holders: Set<object> | null;
  /** False when some value has no content that survives the process (a function, a symbol, shared memory). */
  cacheable: boolean;
}

type DepOf<N> = (value: object) => N | undefined;

/** Raised inside the walk when a Delayed sits where it cannot be replaced; carries its path. */
class MisplacedDelayed extends Error {
  constructor(readonly where: string, public path: string) {
    super(where);
  }
}

const opaqueIds = new WeakMap<object, number>();
let nextOpaque = 1;

class Walk<N> {
  deps: N[] | null = null;
  holders: Set<object> | null = null;
  cacheable = true;
  readonly #stack: object[] = [];
  h: Hasher;
  readonly #depOf: DepOf<N>;

  constructor(h: Hasher, depOf: DepOf<N>) {
    this.h = h;
    this.#depOf = depOf;
  }

  depIndex(dep: N): number {
    const deps = (this.deps ??= []);
    let index = deps.indexOf(dep);
    if (index < 0) index = deps.push(dep) - 1;
    return index;
  }

  /** Hashes `v`; true when it holds a Delayed. `lazyOk`: a Delayed may stand here. */
  value(v: unknown, lazyOk: boolean): boolean {
    const h = this.h;
    switch (typeof v) {
      case 'number': h.number(v); return false;
      case 'string': h.word(T.STRING); h.string(v); return false;
      case 'boolean': h.word(v ? T.TRUE : T.FALSE); return false;
      case 'undefined': h.word(T.UNDEFINED); return false;
      case 'bigint': h.word(T.BIGINT); h.string(v.toString(16)); return false;
      case 'symbol': this.#opaque(Object(v) as object); return false;
      case 'function': this.#opaque(v); return false;
      default: return v === null ? (h.word(T.NULL), false) : this.#object(v as object, lazyOk);
    }
  }

  #opaque(v: object): void {
    let id = opaqueIds.get(v);
    if (id === undefined) opaqueIds.set(v, (id = nextOpaque++));
    this.h.word(T.OPAQUE);
    this.h.word(id);
    this.cacheable = false;
  }

  #object(v: object, lazyOk: boolean): boolean {
    const h = this.h;
    const dep = this.#depOf(v);
    if (dep !== undefined) {
      if (!lazyOk) throw new MisplacedDelayed('', '');
      h.word(T.DEP);
      h.word(this.depIndex(dep));
      return true;
    }
    const depth = this.#stack.lastIndexOf(v);
    if (depth >= 0) {
      h.word(T.CYCLE);
      h.word(this.#stack.length - depth);
      return false;
    }
    this.#stack.push(v);
    let holds = false;
    try {
      if (Array.isArray(v)) holds = this.#array(v, lazyOk);
      else {
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) holds = this.#plain(v, T.OBJECT, lazyOk);
        else this.#special(v);
      }
    } finally {
      this.#stack.pop();
    }
    if (holds) (this.holders ??= new Set()).add(v);
    return holds;
  }

  #array(v: unknown[], lazyOk: boolean): boolean {
    const h = this.h;
    h.word(T.ARRAY);
    h.word(v.length);
    let holds = false;
    for (let i = 0; i < v.length; i++) {
      // A hole is not undefined: structured clone keeps it, and `i in v` tells them apart.
      if (v[i] === undefined && !(i in v)) {
        h.word(T.HOLE);
        continue;
      }
      try {
        if (this.value(v[i], lazyOk)) holds = true;
      } catch (error) {
        throw within(error, `[${i}]`);
      }
    }
    return holds;
  }

  #plain(v: object, tag: number, lazyOk: boolean): boolean {
    const h = this.h;
    const keys = Object.keys(v);
    if (keys.length > 1) keys.sort();
    h.word(tag);
    h.word(keys.length);
    let holds = false;
    for (const key of keys) {
      h.string(key);
      try {
        if (this.value((v as Record<string, unknown>)[key], lazyOk)) holds = true;
      } catch (error) {
        throw within(error, /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      }
    }
    return holds;
  }

  /** Everything that is not an array or a plain object: a Delayed may not hide in here. */
  #special(v: object): void {
    const h = this.h;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) return this.#opaque(v);
      h.word(T.VIEW);
      h.string(Object.prototype.toString.call(v));
      h.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (v instanceof ArrayBuffer) {
      h.word(T.BUFFER);
      h.bytes(new Uint8Array(v));
    } else if (v instanceof Date) {
      h.word(T.DATE);
      h.number(v.getTime());
    } else if (v instanceof RegExp) {
      h.word(T.REGEXP);
      h.string(v.source);
      h.string(v.flags);
    } else if (v instanceof Map) {
      h.word(T.MAP);
      this.#unordered(v.size, v, (entry) => {
        const [key, value] = entry as [unknown, unknown];
        this.value(key, false);
        this.value(value, false);
      }, 'a Map');
    } else if (v instanceof Set) {
      h.word(T.SET);
      this.#unordered(v.size, v, (item) => this.value(item, false), 'a Set');
    } else if (v instanceof Error) {
      h.word(T.ERROR);
      h.string(v.name);
      h.string(v.message);
    } else if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
      h.word(T.BOXED);
      this.value(v.valueOf(), false);
    } else if (v instanceof SharedArrayBuffer || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) {
      this.#opaque(v);
    } else {
      // Another class's instance: what structured clone would send, its own enumerable properties, plus its class name.
      h.word(T.INSTANCE);
      h.string(v.constructor?.name ?? '');
      try {
        this.#plain(v, T.OBJECT, false);
      } catch (error) {
        throw within(error, '', `an instance of ${v.constructor?.name ?? 'a class'}`);
      }
    }
  }

  /** Entries hashed one by one, then fed in sorted order: insertion order does not count. */
  #unordered(size: number, items: Iterable<unknown>, each: (item: unknown) => void, what: string): void {
    const outer = this.h;
    const digests: Digest[] = [];
    try {
      for (const item of items) {
        this.h = new Hasher();
        each(item);
        digests.push(this.h.digest());
      }
    } catch (error) {
      throw within(error, '', what);
    } finally {
      this.h = outer;
    }
    digests.sort(compareDigests);
    outer.word(size);
    for (const d of digests) outer.digestOf(d);
  }
}

function compareDigests(x: Digest, y: Digest): number {
  return x.a - y.a || x.b - y.b || x.c - y.c || x.d - y.d;
}

function within(error: unknown, key: string, container?: string): unknown {
  if (!(error instanceof MisplacedDelayed)) return error;
  if (container !== undefined && error.where === '') return new MisplacedDelayed(container, key + error.path);
  error.path = key + error.path;
  return error;
}

/**
 * Hashes a call's arguments into `h` and collects its dependencies. Delayed
 * values may stand as arguments and inside arrays and plain objects. Numbers,
 * strings and Delayed arguments, the common case, take a path that allocates
 * nothing but the list of dependencies.
 */
export function walkArgs<N>(h: Hasher, args: readonly unknown[], depOf: DepOf<N>, where: string): ArgsWalk<N> {
  let deps: N[] | null = null;
  let walk: Walk<N> | null = null;
  h.word(args.length);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'number') {
      h.number(arg);
      continue;
    }
    if (typeof arg === 'string') {
      h.word(T.STRING);
      h.string(arg);
      continue;
    }
    const dep = typeof arg === 'object' && arg !== null ? depOf(arg) : undefined;
    if (dep !== undefined && walk === null) {
      deps ??= [];
      let index = deps.indexOf(dep);
      if (index < 0) index = deps.push(dep) - 1;
      h.word(T.DEP);
      h.word(index);
      continue;
    }
    if (walk === null) {
      walk = new Walk<N>(h, depOf);
      walk.deps = deps;
    }
    try {
      walk.value(arg, true);
    } catch (error) {
      if (error instanceof MisplacedDelayed) {
        throw new InvalidTypeError(
          `${where}: args[${i}]${error.path} is a Delayed inside ${error.where}; Delayed values may stand as arguments ` +
            'or inside arrays and plain objects only (pass it as an argument of its own)',
        );
      }
      throw error;
    }
  }
  // A pushed-to array keeps room for 17; a graph keeps its nodes' lists alive, so keep them exact.
  const found = walk === null ? deps : walk.deps;
  const exact = found === null ? null : found.slice();
  return walk === null ? { deps: exact, holders: null, cacheable: true } : { deps: exact, holders: walk.holders, cacheable: walk.cacheable };
}

/**
 * The canonical digest of a value that holds no Delayed (`isLazy` recognises one),
 * and whether it may be cached across processes.
 */
export function hashValue(value: unknown, isLazy: (value: object) => boolean, where: string, h = new Hasher()): { digest: Digest; cacheable: boolean } {
  const walk = new Walk<true>(h, (v) => (isLazy(v) ? true : undefined));
  try {
    walk.value(value, false);
  } catch (error) {
    if (error instanceof MisplacedDelayed) {
      throw new InvalidTypeError(`${where}: a Delayed cannot be passed here (at ${error.path || 'the top level'}); compute it first`);
    }
    throw error;
  }
  return { digest: h.digest(), cacheable: walk.cacheable };
}
