/**
 * DiskCache: results kept in files, one per entry, named by their key's hash.
 *
 * - Atomic writes: an entry is written to a temporary file, flushed (fsync)
 *   and renamed into place, so a crash mid-write never leaves half an entry
 *   where a reader looks.
 * - A checksum on read: an entry whose bytes do not match its SHA-256 (a torn
 *   write after a power loss, a disk error, a hand edit) is dropped and
 *   reported as a miss, so its value is recomputed, never returned.
 * - Several processes may share the directory: renames are atomic, readers
 *   hold what they opened, and eviction tolerates entries vanishing.
 * - Bounded by `maxBytes`: past it, the least recently used entries go. An
 *   entry's file time is its last use: each hit refreshes it.
 */
import { promises as fsp, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crypto } from '../builtins.js';
import { ErrorCodes } from '../errors.js';
import { booleanOption, integerOption, knownKeys, objectOption } from '../options.js';
import { checkKey, type CacheHit, type CacheStats, type SyncCache } from './cache.js';
import { cacheDirOf, makeFolders } from './cache-dir.js';
import {
  cacheError, decodeEntry, encodeEntry, errno, keyBytesOf, readEntry, readEntrySync, sizeOf, writeEntry, writeEntrySync,
} from './entry-file.js';

export interface DiskCacheOptions {
  /**
   * Most bytes the directory's entries may hold; past it, the least recently used entries are removed.
   * Each process sharing the directory enforces it when it writes. A value larger than this on its own is not kept.
   * @default Infinity
   * @example new DiskCache('.forkjoin-cache', { maxBytes: 2 * 2 ** 30 })
   */
  maxBytes?: number | undefined;
  /**
   * Flush each entry to the disk before it becomes visible, so a power loss cannot lose a written
   * entry's bytes. Without it a torn entry is still never returned (the checksum catches it); it is recomputed.
   * @default true
   */
  fsync?: boolean | undefined;
}

const FORMAT_DIR = 'v1';
/** A temporary file this old was left by a writer that died (a folder, by a clear() that died). */
const STALE_TEMP_MS = 60 * 60 * 1_000;
/** What clear() renames the entries' folder to, in the temporary folder, before deleting it. */
const TRASH_PREFIX = 'cleared.';
/** Keys whose file is named by the key itself: compute's and memoize's digests. Any other key's is 64 hex digits: no name is two keys'. */
const DIGEST_KEY = /^[0-9a-v]{24}$/;
/** Keys that earlier versions also named by themselves (a SHA-256 in hex is one): their entries are still read there. */
const OLD_DIGEST_KEY = /^[0-9a-v]{25,128}$/;

interface IndexEntry {
  size: number;
  used: number;
}

/** A cache in a directory, safe to share between processes. */
export class DiskCache implements SyncCache {
  /** The directory, absolute. */
  readonly dir: string;
  readonly #root: string;
  readonly #tmp: string;
  readonly #maxBytes: number;
  readonly #fsync: boolean;
  /** name -> size and last use, as this process last saw the directory; null until first needed. */
  #index: Map<string, IndexEntry> | null = null;
  #bytes = 0;
  #writtenSinceScan = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #corrupt = 0;

  constructor(dir: string | URL, options?: DiskCacheOptions) {
    const where = 'new DiskCache()';
    const path = cacheDirOf(where, dir);
    const o = objectOption(where, options) as DiskCacheOptions & Record<string, unknown>;
    knownKeys(where, o, ['maxBytes', 'fsync']);
    this.#maxBytes = o.maxBytes === undefined ? Number.POSITIVE_INFINITY : integerOption(where, 'maxBytes', o.maxBytes, 1);
    this.#fsync = o.fsync === undefined ? true : booleanOption(where, 'fsync', o.fsync);
    this.dir = path;
    this.#root = join(this.dir, FORMAT_DIR);
    this.#tmp = join(this.dir, 'tmp');
    makeFolders(this.dir, [this.#root, this.#tmp]);
  }

  /** The file of `key`: the key itself when it is compute's or memoize's digest, else the SHA-256 of its bytes. */
  #name(key: string): string {
    checkKey('DiskCache', key);
    return DIGEST_KEY.test(key) ? key : crypto().createHash('sha256').update(keyBytesOf(key)).digest('hex');
  }

  /** The file an earlier version put `key`'s entry in, when not the one this version does. */
  #oldName(key: string): string | null {
    return OLD_DIGEST_KEY.test(key) ? key : null;
  }

  /** Entries are spread over folders by their name's first two characters. */
  #folderOf(name: string): string {
    return join(this.#root, name.slice(0, 2));
  }

  #pathOf(name: string): string {
    return join(this.#folderOf(name), name);
  }

  getSync(key: string): CacheHit | undefined {
    const name = this.#name(key);
    let bytes: Buffer;
    try {
      bytes = readEntrySync(this.#pathOf(name));
    } catch (error) {
      const old = this.#oldName(key);
      if (old === null) return this.#miss(error, name);
      try {
        bytes = readEntrySync(this.#pathOf(old));
      } catch {
        return this.#miss(error, name);
      }
      return this.#found(key, old, bytes);
    }
    return this.#found(key, name, bytes);
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const name = this.#name(key);
    let bytes: Buffer;
    try {
      bytes = await readEntry(this.#pathOf(name));
    } catch (error) {
      const old = this.#oldName(key);
      if (old === null) return this.#miss(error, name);
      try {
        bytes = await readEntry(this.#pathOf(old));
      } catch {
        return this.#miss(error, name);
      }
      return this.#found(key, old, bytes);
    }
    return this.#found(key, name, bytes);
  }

  /** No entry (or one this process may not read): a miss; a cache never fails a computation. */
  #miss(_error: unknown, name: string): undefined {
    this.#misses++;
    this.#index?.delete(name);
    return undefined;
  }

  #found(key: string, name: string, bytes: Buffer): CacheHit | undefined {
    const path = this.#pathOf(name);
    const hit = decodeEntry(key, bytes);
    if (hit === 'other') {
      this.#misses++;
      return undefined;
    }
    if (hit === 'corrupt') {
      this.#corrupt++;
      this.#misses++;
      this.#forget(name, path);
      process.emitWarning(`DiskCache: the entry ${name} in ${this.dir} is damaged; it was dropped and will be recomputed`, {
        code: ErrorCodes.CACHE_CORRUPT,
      });
      return undefined;
    }
    this.#hits++;
    const known = this.#index?.get(name);
    if (known !== undefined) known.used = now();
    else if (this.#index !== null) this.#note(name, bytes.byteLength);
    return hit;
  }

  #forget(name: string, path: string): void {
    try { unlinkSync(path); } catch { /* another process removed it first */ }
    const known = this.#index?.get(name);
    if (known !== undefined) {
      this.#bytes -= known.size;
      this.#index?.delete(name);
    }
  }

  /**
   * Whether an entry of these bytes can be kept at all. One larger than maxBytes on its own is
   * not written (it would push out every other entry, then itself), and the key's old entry goes,
   * as a MemoryCache does.
   */
  #fits(name: string, parts: readonly Buffer[]): boolean {
    if (sizeOf(parts) <= this.#maxBytes) return true;
    this.#forget(name, this.#pathOf(name));
    return false;
  }

  #tempPath(name: string): string {
    return join(this.#tmp, `${name}.${process.pid}.${crypto().randomBytes(6).toString('hex')}.tmp`);
  }

  setSync(key: string, value: unknown): void {
    const name = this.#name(key);
    const parts = encodeEntry(key, value);
    if (!this.#fits(name, parts)) return;
    try {
      writeEntrySync(this.#tempPath(name), this.#pathOf(name), parts, this.#fsync, this.#folderOf(name));
    } catch (error) {
      throw cacheError(`cannot write the cache entry ${name}`, error);
    }
    this.#wrote(name, sizeOf(parts));
  }

  async set(key: string, value: unknown): Promise<void> {
    const name = this.#name(key);
    const parts = encodeEntry(key, value);
    if (!this.#fits(name, parts)) return;
    try {
      await writeEntry(this.#tempPath(name), this.#pathOf(name), parts, this.#fsync, this.#folderOf(name));
    } catch (error) {
      throw cacheError(`cannot write the cache entry ${name}`, error);
    }
    this.#wrote(name, sizeOf(parts));
  }

  async delete(key: string): Promise<boolean> {
    const removed = await this.#unlink(this.#name(key));
    const old = this.#oldName(key);
    // An entry an earlier version wrote in the key's own name, unless that file now holds another key's.
    if (old === null || decodeEntry(key, await readEntry(this.#pathOf(old)).catch(() => Buffer.alloc(0))) === 'other') return removed;
    return (await this.#unlink(old)) || removed;
  }

  async #unlink(name: string): Promise<boolean> {
    try {
      await fsp.unlink(this.#pathOf(name));
    } catch (error) {
      if (errno(error) === 'ENOENT') return false;
      throw cacheError(`cannot delete the cache entry ${name}`, error);
    }
    const known = this.#index?.get(name);
    if (known !== undefined) {
      this.#bytes -= known.size;
      this.#index?.delete(name);
    }
    return true;
  }

  /**
   * Removes every entry, also while other processes write: the entries' folder is renamed away
   * at once (a write lands in it before, or in the fresh folder its writer makes after), then
   * deleted. Deleting it in place would fail as soon as a writer added a file meanwhile.
   */
  async clear(): Promise<void> {
    const trash = join(this.#tmp, `${TRASH_PREFIX}${process.pid}.${crypto().randomBytes(6).toString('hex')}`);
    try {
      await fsp.mkdir(this.#tmp, { recursive: true });
      try {
        await fsp.rename(this.#root, trash);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error; // no entries to clear: another process cleared them
      }
      await fsp.mkdir(this.#root, { recursive: true });
    } catch (error) {
      throw cacheError(`cannot clear ${this.dir}`, error);
    }
    this.#index = new Map();
    this.#bytes = 0;
    try {
      await fsp.rm(trash, { recursive: true, force: true });
    } catch (error) {
      throw cacheError(`the entries were cleared, but their old folder ${trash} cannot be removed`, error);
    }
  }

  /** Entries and bytes as counted now (the directory is scanned), and this instance's hits, misses, evictions. */
  stats(): CacheStats {
    this.#scan();
    return {
      entries: this.#index?.size ?? 0, bytes: this.#bytes, hits: this.#hits, misses: this.#misses,
      evictions: this.#evictions, corrupt: this.#corrupt,
    };
  }

  #note(name: string, bytes: number): void {
    const index = this.#index as Map<string, IndexEntry>;
    const old = index.get(name);
    if (old !== undefined) this.#bytes -= old.size;
    index.set(name, { size: bytes, used: now() });
    this.#bytes += bytes;
  }

  #wrote(name: string, bytes: number): void {
    if (this.#maxBytes === Number.POSITIVE_INFINITY) return;
    if (this.#index === null) this.#scan();
    this.#note(name, bytes);
    this.#writtenSinceScan += bytes;
    if (this.#bytes > this.#maxBytes) this.#evict();
  }

  /** Least recently used entries out until the directory fits in maxBytes. */
  #evict(): void {
    // Other processes may have written since the last count: count again when it may matter.
    if (this.#writtenSinceScan > this.#maxBytes / 10) this.#scan();
    if (this.#bytes <= this.#maxBytes) return;
    const index = this.#index as Map<string, IndexEntry>;
    const byAge = [...index].sort((x, y) => x[1].used - y[1].used);
    for (const [name] of byAge) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#forget(name, this.#pathOf(name));
      this.#evictions++;
    }
  }

  /**
   * Counts what the directory holds (sizes and last uses) and removes temporary
   * files left by crashed writers. A use this process saw and the file's time
   * does not show yet (it is refreshed at most once a second) is kept.
   */
  #scan(): void {
    const seen = this.#index;
    const index = new Map<string, IndexEntry>();
    let bytes = 0;
    for (const sub of safeReaddir(this.#root)) {
      const subdir = join(this.#root, sub);
      for (const name of safeReaddir(subdir)) {
        try {
          const st = statSync(join(subdir, name));
          index.set(name, { size: st.size, used: lastUse(st.mtimeMs, seen?.get(name)?.used) });
          bytes += st.size;
        } catch { /* removed meanwhile */ }
      }
    }
    const now = Date.now();
    for (const name of safeReaddir(this.#tmp)) {
      try {
        const path = join(this.#tmp, name);
        if (now - statSync(path).mtimeMs <= STALE_TEMP_MS) continue;
        if (name.startsWith(TRASH_PREFIX)) rmSync(path, { recursive: true, force: true });
        else unlinkSync(path);
      } catch { /* a live writer's, or gone */ }
    }
    this.#index = index;
    this.#bytes = bytes;
    this.#writtenSinceScan = 0;
  }
}

/**
 * How much later than a use this process saw a file's time must be to tell of a later use
 * elsewhere: the kernel stamps files from a coarse clock, which may read a few milliseconds
 * past Date.now() (whole milliseconds), and another process touches a file at most once a second.
 */
const MTIME_SLACK_MS = 100;

/** An entry's last use: the one this process saw, unless the file tells of a later one elsewhere. */
function lastUse(mtimeMs: number, seenUsed: number | undefined): number {
  return seenUsed === undefined || mtimeMs > seenUsed + MTIME_SLACK_MS ? mtimeMs : seenUsed;
}

let lastNow = 0;
/**
 * Milliseconds since the epoch on the clock file times come from (Date.now(): performance's
 * clock drifts from it when the system clock is set), each later than the one before, so
 * that recency has no ties.
 */
function now(): number {
  lastNow = Math.max(Date.now(), lastNow + 0.001);
  return lastNow;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
