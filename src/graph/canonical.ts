/**
 * The canonical encoding of a task's arguments, hashed as it is walked: equal
 * values give equal words whatever the key order of their objects or the
 * insertion order of their Maps and Sets. Delayed values met on the way become
 * references to the node's dependencies; values with no stable content
 * (functions, symbols, shared memory) are hashed by identity and make the node
 * uncacheable, as are class instances and errors (see identity.ts).
 *
 * For a graph node the same walk copies the arrays and plain objects it goes
 * through (the containers a Delayed may sit in), so the node keeps its
 * arguments as they were when its key was made: a caller that changes an array
 * afterwards changes neither the node's key nor what its task receives. Other
 * values (typed arrays, Maps, Sets, Dates, class instances) are held as they are.
 */
import { Hasher, type Digest } from './hash.js';
import { DepList } from './dep-list.js';
import { identityOf, isData } from './identity.js';
import { MisplacedDelayed, within } from './walk-error.js';
import { isLock } from '../sync/tag.js';
import { namedKeys, step } from '../pool/clone.js';

/** The tag words of the encoding. */
export const T = Object.freeze({
  UNDEFINED: 0x75, NULL: 0x6e, TRUE: 0x74, FALSE: 0x66, STRING: 0x73, BIGINT: 0x62,
  ARRAY: 0x61, OBJECT: 0x6f, INSTANCE: 0x69, DEP: 0x64, CYCLE: 0x63, OPAQUE: 0x71,
  DATE: 0x44, REGEXP: 0x52, MAP: 0x4d, SET: 0x53, VIEW: 0x56, BUFFER: 0x42, ERROR: 0x45, BOXED: 0x58,
  HOLE: 0x48, KNOWN_FUNCTION: 0x46, SHARED: 0x72, ARRAY_PROPS: 0x70, LAST_INDEX: 0x4c,
});

/** The node a value stands for, when it is a Delayed. */
export type DepOf<N> = (value: object) => N | undefined;
/** The content of a function that has one (a memoized function: its source and version); undefined for any other. */
export type FunctionContent = (fn: Function) => Digest | undefined;

/** Arrays up to this long are copied into an array made to size. */
const SMALL_ARRAY = 16;

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return false;
  return true;
}

/** Sets an own data property, even one named `__proto__` (which assignment would take as the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** One walk over values: hashes them into `h`, collects dependencies, and copies containers when `copying`. */
export class Walk<N> {
  deps: DepList<N> | null = null;
  holders: Set<object> | null = null;
  cacheable = true;
  /** Whether the value walked last holds a Delayed. */
  held = false;
  readonly #stack: object[] = [];
  h: Hasher;
  readonly #depOf: DepOf<N>;
  /** Arrays and plain objects are copied as they are walked (off for a hash alone, and inside values held as they are). */
  #copying: boolean;
  /** Each container copied and its copy, so a container met twice has one copy and a cycle leads back to it; the first without a Map. */
  #firstMet: object | null = null;
  #firstCopy: object | null = null;
  #copies: Map<object, object> | null = null;

  /**
   * The containers walked so far, each with its number in the order first met. One met again
   * (not around itself: that is a cycle) is hashed as a reference to that number, as structured
   * clone sends it: a value sharing containers (x = [x, x], a scene graph) hashes in time linear
   * in its containers, and [a, a] is told apart from [a, copy of a].
   */
  #met: Map<object, number> | null = null;
  /** The containers met that hold a Delayed. */
  #holding: Set<object> | null = null;

  readonly #contentOf: FunctionContent | null;
  /**
   * Values that are not plain data (class instances, errors: see identity.ts) are keyed by identity
   * and not cacheable, since the task may run on the very object, in this thread, where private
   * fields and accessors, which no walk sees, are part of it. A graph's walk goes on into them too
   * (what it finds is hashed after the identity), to refuse a Delayed hidden there; `skipOpaque` does not.
   */
  readonly #skipOpaque: boolean;

  constructor(h: Hasher, depOf: DepOf<N>, copying: boolean, contentOf: FunctionContent | null = null, skipOpaque = false) {
    this.h = h;
    this.#depOf = depOf;
    this.#copying = copying;
    this.#contentOf = contentOf;
    this.#skipOpaque = skipOpaque;
  }

  #copyOf(v: object): object | undefined {
    return v === this.#firstMet ? (this.#firstCopy as object) : this.#copies?.get(v);
  }

  #remember(v: object, copy: object): void {
    if (this.#firstMet === null) {
      this.#firstMet = v;
      this.#firstCopy = copy;
    } else (this.#copies ??= new Map()).set(v, copy);
  }

  /**
   * Hashes `v` and returns what the node keeps in its place: a copy for an array
   * or a plain object (when copying), else `v`. Sets `held` when `v` holds a
   * Delayed. `lazyOk`: a Delayed may stand here.
   */
  value(v: unknown, lazyOk: boolean): unknown {
    const h = this.h;
    this.held = false;
    switch (typeof v) {
      case 'number': h.number(v); return v;
      case 'string': h.word(T.STRING); h.string(v); return v;
      case 'boolean': h.word(v ? T.TRUE : T.FALSE); return v;
      case 'undefined': h.word(T.UNDEFINED); return v;
      case 'bigint': h.word(T.BIGINT); h.string(v.toString(16)); return v;
      case 'symbol': this.#opaque(v); return v;
      case 'function': this.#function(v); return v;
      default:
        if (v === null) {
          h.word(T.NULL);
          return v;
        }
        return this.#object(v as object, lazyOk);
    }
  }

  #function(v: Function): void {
    const content = this.#contentOf?.(v);
    if (content === undefined) return this.#opaque(v);
    this.h.word(T.KNOWN_FUNCTION);
    this.h.digestOf(content);
  }

  #opaque(v: object | symbol): void {
    this.h.word(T.OPAQUE);
    this.h.word(identityOf(v));
    this.cacheable = false;
  }

  #object(v: object, lazyOk: boolean): unknown {
    const h = this.h;
    const dep = this.#depOf(v);
    if (dep !== undefined) {
      if (!lazyOk) throw new MisplacedDelayed('', '');
      h.word(T.DEP);
      h.word((this.deps ??= new DepList()).indexOf(dep));
      this.held = true;
      return v;
    }
    const depth = this.#stack.lastIndexOf(v);
    if (depth >= 0) {
      h.word(T.CYCLE);
      h.word(this.#stack.length - depth);
      return this.#copying ? (this.#copyOf(v) ?? v) : v;
    }
    const met = (this.#met ??= new Map()).get(v);
    if (met !== undefined) {
      // A container met before, not around this one: a reference to it, and its one copy.
      h.word(T.SHARED);
      h.word(met);
      this.held = this.#holding?.has(v) ?? false;
      return this.#copying ? (this.#copyOf(v) ?? v) : v;
    }
    this.#met.set(v, this.#met.size);
    this.#stack.push(v);
    let out: unknown = v;
    try {
      if (!isData(v)) {
        this.#opaque(v);
        if (!this.#skipOpaque) this.#leaf(v);
      } else if (Array.isArray(v)) out = this.#array(v, lazyOk);
      else {
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) out = this.#plain(v, T.OBJECT, lazyOk, proto === null);
        else this.#leaf(v);
      }
    } finally {
      this.#stack.pop();
    }
    if (this.held) (this.#holding ??= new Set()).add(v);
    if (this.held && this.#copying) (this.holders ??= new Set()).add(out as object);
    return out;
  }

  #array(v: unknown[], lazyOk: boolean): unknown[] {
    const h = this.h;
    const n = v.length;
    h.word(T.ARRAY);
    h.word(n);
    // A small copy is made to size; a larger one is filled by push, so that it stays packed
    // when it has no hole (structured clone sends a large holey array several times slower).
    const small = n <= SMALL_ARRAY;
    const copy: unknown[] | null = this.#copying ? (small ? new Array<unknown>(n) : []) : null;
    if (copy !== null) this.#remember(v, copy);
    let holds = false;
    for (let i = 0; i < n; i++) {
      let item = v[i];
      if (typeof item === 'number') h.number(item);
      else if (item === undefined && !(i in v)) {
        // A hole is not undefined: structured clone keeps it, and `i in v` tells them apart.
        h.word(T.HOLE);
        if (copy !== null && !small) copy.length = i + 1;
        continue;
      } else {
        try {
          item = this.value(item, lazyOk);
        } catch (error) {
          throw within(error, `[${i}]`);
        }
        if (this.held) holds = true;
      }
      if (copy === null) continue;
      if (small) copy[i] = item;
      else copy.push(item);
    }
    // Properties of its own besides its items, which a clone sends (a RegExp match's index and input).
    const named = namedKeys(v);
    if (named.length > 0) {
      const withProps = copy as unknown as Record<string, unknown> | null;
      if (withProps !== null) for (const key of named) setOwn(withProps, key, undefined);
      h.word(T.ARRAY_PROPS);
      h.word(named.length);
      for (const key of named.sort()) {
        h.string(key);
        let item: unknown;
        try {
          item = this.value((v as unknown as Record<string, unknown>)[key], lazyOk);
        } catch (error) {
          throw within(error, step(key));
        }
        if (this.held) holds = true;
        if (withProps !== null) setOwn(withProps, key, item);
      }
    }
    this.held = holds;
    return copy ?? v;
  }

  /** Hashes the own enumerable properties in key order; the copy (when copying) keeps `v`'s own order. */
  #plain(v: object, tag: number, lazyOk: boolean, bare: boolean): object {
    const h = this.h;
    const keys = Object.keys(v);
    let copy: Record<string, unknown> | null = null;
    if (this.#copying) {
      copy = bare ? (Object.create(null) as Record<string, unknown>) : {};
      this.#remember(v, copy);
    }
    if (keys.length > 1 && !isSorted(keys)) {
      // The copy's keys are made in v's order, its values set in the hash's.
      if (copy !== null) for (const key of keys) setOwn(copy, key, undefined);
      keys.sort();
    }
    // A null prototype is not part of the key: querystring.parse() gives one, and a thread receives a plain object.
    h.word(tag);
    h.word(keys.length);
    let holds = false;
    for (const key of keys) {
      h.string(key);
      let item: unknown;
      try {
        item = this.value((v as Record<string, unknown>)[key], lazyOk);
      } catch (error) {
        throw within(error, step(key));
      }
      if (this.held) holds = true;
      if (copy !== null) setOwn(copy, key, item);
    }
    this.held = holds;
    return copy ?? v;
  }

  /** A value held as it is, not copied; hashed by content where it has one. */
  #leaf(v: object): void {
    const copying = this.#copying;
    this.#copying = false;
    try {
      this.#special(v);
    } finally {
      this.#copying = copying;
    }
    this.held = false;
  }

  /** Everything that is not an array or a plain object: a Delayed may not hide in here. */
  #special(v: object): void {
    const h = this.h;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) return this.#opaque(v);
      h.word(T.VIEW);
      h.string(Object.prototype.toString.call(v));
      // Its bytes alone, wherever it lies in its buffer: a file read into a pooled Buffer keys the same in every run.
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
      if (v.lastIndex !== 0) {
        h.word(T.LAST_INDEX);
        this.value(v.lastIndex, false);
      }
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
      // Its cause crosses with it (structured clone keeps it), so it tells two errors apart.
      if (Object.prototype.hasOwnProperty.call(v, 'cause')) this.value(v.cause, false);
    } else if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) {
      h.word(T.BOXED);
      this.value(v.valueOf(), false);
    } else if (v instanceof Symbol || v instanceof SharedArrayBuffer || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef || isLock(v)) {
      this.#opaque(v);
    } else {
      // Another class's instance (already keyed by identity): its own enumerable properties, where a Delayed may not hide.
      h.word(T.INSTANCE);
      h.string(v.constructor?.name ?? '');
      try {
        this.#plain(v, T.OBJECT, false, false);
      } catch (error) {
        throw within(error, '', `an instance of ${v.constructor?.name ?? 'a class'}`);
      }
    }
  }

  /** Entries hashed one by one, then fed in sorted order: insertion order does not count. */
  #unordered(size: number, items: Iterable<unknown>, each: (item: unknown) => void, what: string): void {
    const outer = this.h;
    const met = this.#met;
    const digests: Digest[] = [];
    try {
      for (const item of items) {
        this.h = new Hasher();
        // Each entry numbers the containers it meets again on its own: numbers running across
        // entries would follow their insertion order, which the sort below throws away.
        this.#met = null;
        each(item);
        digests.push(this.h.digest());
      }
    } catch (error) {
      throw within(error, '', what);
    } finally {
      this.h = outer;
      this.#met = met;
    }
    digests.sort(compareDigests);
    outer.word(size);
    for (const d of digests) outer.digestOf(d);
  }
}

function compareDigests(x: Digest, y: Digest): number {
  return x.a - y.a || x.b - y.b || x.c - y.c || x.d - y.d;
}
