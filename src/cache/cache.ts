/**
 * What compute() and memoize() need of a cache, and how values are stored:
 * by structured clone (node:v8 serialize), so typed arrays, Maps, Sets, Dates
 * and bigints come back as themselves, and a stored value can never be
 * changed through a reference the caller kept.
 */
import { v8 } from '../builtins.js';

const serialize = (value: unknown): Buffer => v8().serialize(value);
const deserialize = (buffer: Uint8Array): unknown => v8().deserialize(buffer);
import { ErrorCodes, ForkJoinError, InvalidTypeError } from '../errors.js';
import { describeType } from '../task.js';
import { unstorablePart } from './storable.js';

/** A stored value. `undefined` is a value too, hence the wrapper. */
export interface CacheHit<T = unknown> {
  readonly value: T;
}

/** A key-value store of computed results, shared by compute() and memoize(). */
export interface Cache {
  /** The entry stored under `key`, or undefined when there is none (or it was unreadable). */
  get(key: string): Promise<CacheHit | undefined>;
  /** Stores `value` under `key`; rejects with FJ_CACHE_WRITE_FAILED when it cannot. */
  set(key: string, value: unknown): Promise<void>;
  /** Removes the entry; resolves to whether there was one. */
  delete(key: string): Promise<boolean>;
  /** Removes every entry. */
  clear(): Promise<void>;
}

/** A cache that can also answer without waiting, so memoize() keeps a synchronous function synchronous. */
export interface SyncCache extends Cache {
  getSync(key: string): CacheHit | undefined;
  setSync(key: string, value: unknown): void;
}

/** Counters a cache keeps. */
export interface CacheStats {
  /** Entries held (for a DiskCache: as last counted, other processes included). */
  entries: number;
  /** Bytes held, serialized. */
  bytes: number;
  hits: number;
  misses: number;
  /** Entries removed to stay within the bounds. */
  evictions: number;
  /** Entries found damaged, dropped and reported as misses. */
  corrupt: number;
}

/** Whether `cache` offers the synchronous methods. */
export function isSyncCache(cache: Cache): cache is SyncCache {
  return typeof (cache as Partial<SyncCache>).getSync === 'function' && typeof (cache as Partial<SyncCache>).setSync === 'function';
}

/** Whether `value` looks like a Cache. */
export function isCache(value: unknown): value is Cache {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return typeof c.get === 'function' && typeof c.set === 'function' && typeof c.delete === 'function' && typeof c.clear === 'function';
}

/**
 * Refuses a key that is not a string, before the cache changes: a number or a
 * symbol would be kept under itself in a Map and has no bytes to count or to
 * write to a file. One wording for every cache.
 */
export function checkKey(where: string, key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidTypeError(`${where}: a cache key must be a string; received ${describeType(key)}`);
}

/** The bytes of `value`; throws FJ_CACHE_WRITE_FAILED when it cannot be cloned (a function, a socket, ...). */
export function encodeValue(value: unknown, key: string): Buffer {
  try {
    return serialize(value);
  } catch (cause) {
    throw new ForkJoinError(
      ErrorCodes.CACHE_WRITE_FAILED,
      `The value for cache key ${key} cannot be stored: ${cause instanceof Error ? cause.message : String(cause)} ` +
        '(a cache keeps what structured clone can copy: no functions, class prototypes or handles)',
      { cause, key },
    );
  }
}

/**
 * The value in `bytes`. Typed arrays deserialized from a buffer are views of
 * it, so bytes that are kept (a MemoryCache's) are copied first: a caller who
 * changes the value it got never changes the stored one.
 */
export function decodeValue(bytes: Uint8Array, kept: boolean): unknown {
  return deserialize(kept ? Buffer.from(bytes) : bytes);
}

/** A copy of `value` made as a cache makes one (structured clone); `value` itself when it cannot be copied, or not as it is (a class instance). */
export function copyValue(value: unknown): unknown {
  if (unstorablePart(value) !== undefined) return value;
  try {
    return deserialize(serialize(value));
  } catch {
    return value;
  }
}

/** Reports a problem of a cache as a process warning, once per `where` and code; the computation goes on. */
function warnOnce(seen: Set<string>, where: string, code: string, message: string): void {
  const id = `${code} ${where}`;
  if (seen.has(id)) return;
  seen.add(id);
  process.emitWarning(`${where}: ${message}`, { code });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reports, once per `where`, a value a cache could not store; the computation itself goes on. */
export function warnWriteFailed(seen: Set<string>, where: string, error: unknown): void {
  warnOnce(seen, where, ErrorCodes.CACHE_WRITE_FAILED, `a result was not cached: ${messageOf(error)}`);
}

/** A hit as the Cache interface has it, `{ value }`; any other answer but undefined is a damaged one. */
function usableAnswer(answer: unknown, seen: Set<string>, where: string): CacheHit | undefined {
  if (answer === undefined) return undefined;
  if (typeof answer === 'object' && answer !== null && 'value' in answer) return answer as CacheHit;
  warnOnce(seen, where, ErrorCodes.CACHE_CORRUPT,
    `the cache's get() answered ${describeType(answer)}, neither undefined nor { value }; taken as a miss, the value is computed again`);
  return undefined;
}

function readFailed(seen: Set<string>, where: string, error: unknown): undefined {
  warnOnce(seen, where, ErrorCodes.CACHE_READ_FAILED, `the cache's get() failed (${messageOf(error)}); taken as a miss, the value is computed again`);
  return undefined;
}

/**
 * Looks `key` up, for compute() and memoize() alike. An answer that cannot be used is a miss,
 * never a failure, as a damaged DiskCache entry is: a get() that throws or rejects (warning
 * FJ_CACHE_READ_FAILED), or that answers neither undefined nor `{ value }` (FJ_CACHE_CORRUPT);
 * each is reported once per `where`.
 */
export async function readCache(cache: Cache, key: string, seen: Set<string>, where: string): Promise<CacheHit | undefined> {
  let answer: unknown;
  try {
    answer = await cache.get(key);
  } catch (error) {
    return readFailed(seen, where, error);
  }
  return usableAnswer(answer, seen, where);
}

/** readCache() with a cache's getSync(). */
export function readCacheSync(cache: SyncCache, key: string, seen: Set<string>, where: string): CacheHit | undefined {
  let answer: unknown;
  try {
    answer = cache.getSync(key);
  } catch (error) {
    return readFailed(seen, where, error);
  }
  return usableAnswer(answer, seen, where);
}
