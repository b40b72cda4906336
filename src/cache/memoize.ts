/**
 * memoize(fn, { cache }): a function that computes each distinct call once.
 * The key covers the function's source, its arguments' canonical encoding and,
 * for a function that reads `this`, its receiver's, so a changed function is
 * never served an old result. Concurrent calls with one key share one
 * computation; a rejection or a throw is not kept.
 */
import { InvalidTypeError, isForkJoinError } from '../errors.js';
import { hashValue } from '../graph/arguments.js';
import { isDelayed } from '../graph/delayed.js';
import { Hasher, toText, type Digest } from '../graph/hash.js';
import { knownKeys, objectOption } from '../options.js';
import { copyValue, isCache, isSyncCache, readCache, readCacheSync, warnWriteFailed, type Cache, type SyncCache } from './cache.js';
import { MemoryCache } from './memory.js';
import { unstorablePart, unstorableError } from './storable.js';
import { isThenable } from '../transfer.js';

export interface MemoizeOptions<C extends Cache = Cache> {
  /**
   * Where results are kept. A DiskCache keeps them between runs and shares them between processes.
   * @default a new MemoryCache() of this function's own
   * @example memoize(fib, { cache: new DiskCache('.forkjoin-cache') })
   */
  cache?: C | undefined;
  /**
   * Mixed into every key: change it when the function's behaviour changes without its source
   * changing (a helper it calls, data it reads, a variable it closes over).
   * @example memoize(render, { version: templateHash })
   */
  version?: string | number | undefined;
}

/**
 * A memoized function and `cache`, where its results live. With a cache that has getSync and
 * setSync it has the original's signature; with any other it returns a promise, or the original's
 * own result for a call that bypasses the cache, and a cache typed `Cache` may be either kind.
 */
export type Memoized<F extends (...args: any[]) => unknown, C extends Cache = MemoryCache> =
  ([C] extends [SyncCache] ? F : (this: ThisParameterType<F>, ...args: Parameters<F>) => ReturnType<F> | Promise<Awaited<ReturnType<F>>>) &
  { readonly cache: C };

/** What a memoized call stores: its value, and whether the original returned a promise. */
interface Stored {
  value: unknown;
  async: boolean;
}


function isStored(value: unknown): value is Stored {
  return typeof value === 'object' && value !== null && typeof (value as Stored).async === 'boolean' && 'value' in value;
}

/** Each memoized function's content (its source and version): an object holding one, such as a method's receiver, is keyed by it. */
const memoizedDigests = new WeakMap<Function, Digest>();
const contentOf = (fn: Function): Digest | undefined => memoizedDigests.get(fn);

/**
 * Whether `fn` may read the `this` it is called with: it is no arrow function (whose `this` is
 * its scope's), and its source names `this` or `super`. Errs towards yes: a `this` in a string,
 * a comment or a nested function only adds the receiver to the key.
 */
function readsThis(fn: Function, source: string): boolean {
  return /\b(?:this|super)\b/.test(source) && !isArrow(fn, source);
}

/** An arrow function has no prototype and compiles as an expression, as no method does (compiled, never run). */
function isArrow(fn: Function, source: string): boolean {
  if (Object.hasOwn(fn, 'prototype') || /^async\s+function\b/.test(source)) return false;
  try {
    new Function(`return (${source}\n);`);
    return true;
  } catch {
    return false; // a method, or code generation is disallowed: keyed on its receiver, which is always right
  }
}

/**
 * Caches `fn`'s results by its source and arguments. With a synchronous cache
 * (MemoryCache, DiskCache) a synchronous function stays synchronous.
 */
export function memoize<F extends (...args: any[]) => unknown, C extends Cache = MemoryCache>(fn: F, options?: MemoizeOptions<C>): Memoized<F, C>;
export function memoize(fn: (...args: unknown[]) => unknown, options?: MemoizeOptions): Memoized<(...args: unknown[]) => unknown> {
  const where = 'memoize';
  if (typeof fn !== 'function') throw new InvalidTypeError(`${where}: fn must be a function; received ${fn === null ? 'null' : typeof fn}`);
  const o = objectOption(where, options) as MemoizeOptions & Record<string, unknown>;
  knownKeys(where, o, ['cache', 'version']);
  if (o.cache !== undefined && !isCache(o.cache)) {
    throw new InvalidTypeError(`${where}: the "cache" option must be a cache (a MemoryCache, a DiskCache, or an object with get, set, delete and clear)`);
  }
  if (o.version !== undefined && typeof o.version !== 'string' && typeof o.version !== 'number') {
    throw new InvalidTypeError(`${where}: the "version" option must be a string or a number; received ${typeof o.version}`);
  }
  const cache: Cache = o.cache ?? new MemoryCache();
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new InvalidTypeError(`${where}: ${fn.name || 'the function'} is native or bound, so its source does not identify it; memoize a plain function`);
  }
  const base = new Hasher();
  base.string('memoize');
  base.string(source);
  base.string(String(o.version ?? ''));
  const fnDigest = base.digest();
  const onThis = readsThis(fn, source);
  const label = `memoize(${fn.name || 'anonymous'})`;
  const sync = isSyncCache(cache) ? cache : null;
  const inflight = new Map<string, Promise<unknown>>();
  const warned = new Set<string>();

  /**
   * The call's key: its arguments, and its receiver when `fn` reads `this`; null for what it cannot
   * key on (a function other than a memoized one; or too deep, or unreadable, to walk).
   */
  const keyOf = (receiver: unknown, args: unknown[]): string | null => {
    const h = new Hasher();
    h.digestOf(fnDigest);
    let walked: ReturnType<typeof hashValue>;
    try {
      // The call runs here on the very objects given: a class instance's private fields are part of it, unseen by any walk.
      walked = hashValue(onThis ? [receiver, args] : args, isDelayed, label, h, contentOf, true);
    } catch (error) {
      if (isForkJoinError(error)) throw error; // a Delayed passed to a memoized function, ...
      return null;
    }
    return walked.cacheable ? toText(walked.digest) : null;
  };

  /**
   * Makes `compute` the one computation of `key` until it settles; a rejection is not kept. The
   * caller that started it gets the result one step later than `compute` settles, so a joiner's
   * copy (a reaction on `compute` itself) is taken before that caller can change the result.
   */
  const share = (key: string, compute: Promise<unknown>): Promise<unknown> => {
    const own = compute.then((value) => value);
    inflight.set(key, compute);
    const forget = (): void => {
      if (inflight.get(key) === compute) inflight.delete(key);
    };
    compute.then(forget, forget);
    return own;
  };

  /** Whether `value` can be stored as it is; one that cannot (a class instance) is reported, once. */
  const storable = (value: unknown): boolean => {
    const part = unstorablePart(value);
    if (part !== undefined) warnWriteFailed(warned, label, unstorableError(part));
    return part === undefined;
  };

  /** Stores an async result, then hands it on; a failed write is reported, never thrown. */
  const store = async (key: string, value: unknown): Promise<unknown> => {
    if (!storable(value)) return value;
    try {
      await cache.set(key, { value, async: true } satisfies Stored);
    } catch (error) {
      warnWriteFailed(warned, label, error);
    }
    return value;
  };

  const memoized = function (this: unknown, ...args: unknown[]): unknown {
    const key = keyOf(this, args);
    if (key === null) return fn.apply(this, args); // an argument (or receiver) with no content to key on: nothing to share
    // A call that joins a running computation gets its own copy of the result, as a hit does (the result itself when it cannot be copied as it is).
    const running = inflight.get(key);
    if (running !== undefined) return running.then(copyValue);
    if (sync !== null) {
      const hit = readCacheSync(sync, key, warned, label);
      if (hit !== undefined && isStored(hit.value)) return hit.value.async ? Promise.resolve(hit.value.value) : hit.value.value;
      const result = fn.apply(this, args);
      if (isThenable(result)) return share(key, Promise.resolve(result).then((value) => store(key, value)));
      if (!storable(result)) return result;
      try {
        sync.setSync(key, { value: result, async: false } satisfies Stored);
      } catch (error) {
        warnWriteFailed(warned, label, error);
      }
      return result;
    }
    const self = this;
    return share(key, (async () => {
      const hit = await readCache(cache, key, warned, label);
      if (hit !== undefined && isStored(hit.value)) return hit.value.value;
      return store(key, await fn.apply(self, args));
    })());
  };
  Object.defineProperty(memoized, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(memoized, 'cache', { value: cache, enumerable: true });
  memoizedDigests.set(memoized, fnDigest);
  return memoized as Memoized<(...args: unknown[]) => unknown>;
}
