/**
 * MemoryCache: results kept in this process, bounded by entries and by bytes,
 * the least recently used going first.
 */
import { integerOption, knownKeys, objectOption } from '../options.js';
import { checkKey, decodeValue, encodeValue, type CacheHit, type CacheStats, type SyncCache } from './cache.js';

export interface MemoryCacheOptions {
  /**
   * Most entries kept; past it, the least recently used entry goes.
   * @default Infinity
   * @example new MemoryCache({ maxEntries: 1_000 })
   */
  maxEntries?: number | undefined;
  /**
   * Most bytes kept (values serialized, plus their keys); past it, least recently used entries go.
   * A value larger than this on its own is not kept.
   * @default 268435456 (256 MiB)
   * @example new MemoryCache({ maxBytes: 64 * 2 ** 20 })
   */
  maxBytes?: number | undefined;
}

const defaults = Object.freeze({ maxEntries: Number.POSITIVE_INFINITY, maxBytes: 256 * 2 ** 20 });

/** A primitive needs no copy (and no serializer): it is kept as it is. */
class Plain {
  constructor(readonly value: unknown, readonly size: number) {}
}

function plain(value: unknown): Plain | null {
  switch (typeof value) {
    case 'number': case 'boolean': case 'undefined': return new Plain(value, 8);
    case 'string': return new Plain(value, 2 * value.length + 8);
    case 'bigint': return new Plain(value, 8 + value.toString(16).length / 2);
    default: return value === null ? new Plain(null, 8) : null;
  }
}

function sizeOf(entry: Buffer | Plain): number {
  return entry instanceof Plain ? entry.size : entry.byteLength;
}

/** The async methods answer as the sync ones do, a throw becoming a rejection. */
function settle<T>(answer: () => T): Promise<T> {
  try {
    return Promise.resolve(answer());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** An in-memory cache with least-recently-used eviction; values are stored serialized (copies). */
export class MemoryCache implements SyncCache {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Buffer | Plain>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options?: MemoryCacheOptions) {
    const where = 'new MemoryCache()';
    const o = objectOption(where, options) as MemoryCacheOptions & Record<string, unknown>;
    knownKeys(where, o, ['maxEntries', 'maxBytes']);
    this.#maxEntries = o.maxEntries === undefined ? defaults.maxEntries : integerOption(where, 'maxEntries', o.maxEntries, 1);
    this.#maxBytes = o.maxBytes === undefined ? defaults.maxBytes : integerOption(where, 'maxBytes', o.maxBytes, 1);
  }

  getSync(key: string): CacheHit | undefined {
    checkKey('MemoryCache', key);
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#hits++;
    return { value: entry instanceof Plain ? entry.value : decodeValue(entry, true) };
  }

  setSync(key: string, value: unknown): void {
    checkKey('MemoryCache', key);
    const entry = plain(value) ?? encodeValue(value, key);
    this.#remove(key);
    const size = sizeOf(entry) + key.length;
    if (size > this.#maxBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += size;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#remove(oldest);
      this.#evictions++;
    }
  }

  get(key: string): Promise<CacheHit | undefined> {
    return settle(() => this.getSync(key));
  }

  set(key: string, value: unknown): Promise<void> {
    return settle(() => this.setSync(key, value));
  }

  delete(key: string): Promise<boolean> {
    return settle(() => {
      checkKey('MemoryCache', key);
      return this.#remove(key);
    });
  }

  clear(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
    return Promise.resolve();
  }

  #remove(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= sizeOf(entry) + key.length;
    return true;
  }

  /** Entries, bytes, hits, misses and evictions so far. */
  stats(): CacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses, evictions: this.#evictions, corrupt: 0 };
  }
}
