/**
 * One DiskCache entry on disk: its format (a header with a SHA-256 of the
 * whole, the key, the serialized value) and the file operations that read it
 * and write it atomically, synchronously or not.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { Stats } from 'node:fs';
import { crypto } from '../builtins.js';
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { decodeValue, encodeValue, type CacheHit } from './cache.js';

const MAGIC = 0x31434a46; // "FJC1", little-endian
/** Magic, key length, payload length (two words), then the SHA-256 of header[0..16) + key + payload. */
const HEADER = 48;
/** A hit refreshes the file's time (its recency, for eviction) at most this often. */
const TOUCH_AFTER_MS = 1_000;

/** Starts the bytes of a key that is not well-formed UTF-16; UTF-8 never holds this byte. */
const UTF16_MARK = 0xff;

/**
 * The bytes that stand for `key` in its entry and in its file's name. A
 * well-formed key is its UTF-8, as it always was, so existing caches stay
 * valid. A lone surrogate has no UTF-8 (it would become U+FFFD, and the key
 * another key's): such a key is its UTF-16 code units after a byte UTF-8
 * never holds, so no two strings share their bytes.
 */
export function keyBytesOf(key: string): Buffer {
  if (key.isWellFormed()) return Buffer.from(key, 'utf8');
  return Buffer.concat([Buffer.of(UTF16_MARK), Buffer.from(key, 'utf16le')]);
}

/** The bytes of an entry: header, key, payload. */
export function encodeEntry(key: string, value: unknown): Buffer[] {
  const payload = encodeValue(value, key);
  const keyBytes = keyBytesOf(key);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(keyBytes.byteLength, 4);
  header.writeUInt32LE(payload.byteLength % 2 ** 32, 8);
  header.writeUInt32LE(Math.floor(payload.byteLength / 2 ** 32), 12);
  checksum(header, keyBytes, payload).copy(header, 16);
  return [header, keyBytes, payload];
}

/** The value in `bytes` when they are a sound entry for `key`; 'corrupt', or 'other' (another key's entry). */
export function decodeEntry(key: string, bytes: Buffer): CacheHit | 'corrupt' | 'other' {
  if (bytes.byteLength < HEADER || bytes.readUInt32LE(0) !== MAGIC) return 'corrupt';
  const keyLength = bytes.readUInt32LE(4);
  const payloadLength = bytes.readUInt32LE(8) + bytes.readUInt32LE(12) * 2 ** 32;
  if (HEADER + keyLength + payloadLength !== bytes.byteLength) return 'corrupt';
  const keyBytes = bytes.subarray(HEADER, HEADER + keyLength);
  const payload = bytes.subarray(HEADER + keyLength);
  if (!checksum(bytes.subarray(0, HEADER), keyBytes, payload).equals(bytes.subarray(16, HEADER))) return 'corrupt';
  if (!keyBytes.equals(keyBytesOf(key))) return 'other';
  try {
    return { value: decodeValue(payload, false) };
  } catch {
    return 'corrupt';
  }
}

function checksum(header: Buffer, key: Buffer, payload: Buffer): Buffer {
  return crypto().createHash('sha256').update(header.subarray(0, 16)).update(key).update(payload).digest();
}

/** Bytes in all of `parts`. */
export function sizeOf(parts: readonly Buffer[]): number {
  let n = 0;
  for (const part of parts) n += part.byteLength;
  return n;
}

/** The `code` of a system error (`ENOENT`, ...). */
export function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? ((error as { code?: unknown }).code as string | undefined) : undefined;
}

/**
 * One callback-style fs call as a promise. The FileHandle API costs several
 * times more per call, and an entry takes five or six calls.
 */
function fsCall<T = void>(start: (done: (error: NodeJS.ErrnoException | null, result?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, result) => (error === null ? resolve(result as T) : reject(error)));
  });
}

/** The bytes of the file at `path` (throws when it cannot be read); refreshes its time when stale. */
export function readEntrySync(path: string): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const st = fs.fstatSync(fd);
    let bytes = Buffer.allocUnsafe(st.size);
    let read = 0;
    while (read < st.size) {
      const n = fs.readSync(fd, bytes, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read < st.size) bytes = bytes.subarray(0, read);
    const at = Date.now() / 1000;
    if (at * 1000 - st.mtimeMs > TOUCH_AFTER_MS) {
      try { fs.futimesSync(fd, at, at); } catch { /* a read-only share: recency is best effort */ }
    }
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** readEntrySync without blocking the event loop. */
export async function readEntry(path: string): Promise<Buffer> {
  const fd = await fsCall<number>((done) => fs.open(path, 'r', done));
  try {
    const st = await fsCall<Stats>((done) => fs.fstat(fd, done));
    let bytes = Buffer.allocUnsafe(st.size);
    let read = 0;
    while (read < st.size) {
      const n = await fsCall<number>((done) => fs.read(fd, bytes, read, st.size - read, read, done));
      if (n === 0) break;
      read += n;
    }
    if (read < st.size) bytes = bytes.subarray(0, read);
    const at = Date.now() / 1000;
    if (at * 1000 - st.mtimeMs > TOUCH_AFTER_MS) await fsCall((done) => fs.futimes(fd, at, at, done)).catch(() => undefined);
    return bytes;
  } finally {
    await fsCall((done) => fs.close(fd, done)).catch(() => undefined);
  }
}

/**
 * Renames that find the entry's folder missing (a clear() by any process took it) make it and
 * try again, this many times in all; a write that loses to clear() every time fails
 * (FJ_CACHE_WRITE_FAILED: compute and memoize go on without storing the value).
 */
const RENAME_ATTEMPTS = 5;

/**
 * Writes `parts` to `temp`, flushes it when `fsync`, then renames it to `path`:
 * a reader sees the whole entry or none. `folder` (`path`'s) is made when missing.
 */
export function writeEntrySync(temp: string, path: string, parts: readonly Buffer[], fsync: boolean, folder: string): void {
  try {
    let fd: number;
    try {
      fd = fs.openSync(temp, 'wx');
    } catch (error) {
      // The cache's folder was removed while it was open (rm -rf by hand): made again.
      if (errno(error) !== 'ENOENT') throw error;
      fs.mkdirSync(dirname(temp), { recursive: true });
      fd = fs.openSync(temp, 'wx');
    }
    try {
      for (const part of parts) {
        for (let at = 0; at < part.byteLength;) at += fs.writeSync(fd, part, at, part.byteLength - at);
      }
      if (fsync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        fs.renameSync(temp, path);
        break;
      } catch (error) {
        if (errno(error) !== 'ENOENT' || attempt === RENAME_ATTEMPTS) throw error;
        fs.mkdirSync(folder, { recursive: true });
      }
    }
  } catch (error) {
    try { fs.unlinkSync(temp); } catch { /* never created, or already renamed */ }
    throw error;
  }
}

/** writeEntrySync without blocking the event loop. */
export async function writeEntry(temp: string, path: string, parts: readonly Buffer[], fsync: boolean, folder: string): Promise<void> {
  try {
    const open = (): Promise<number> => fsCall<number>((done) => fs.open(temp, 'wx', done));
    const fd = await open().catch(async (error: unknown) => {
      // The cache's folder was removed while it was open (rm -rf by hand): made again.
      if (errno(error) !== 'ENOENT') throw error;
      await fsCall((done) => fs.mkdir(dirname(temp), { recursive: true }, (e) => done(e)));
      return open();
    });
    try {
      const written = await fsCall<number>((done) => fs.writev(fd, parts as Buffer[], done));
      // A short write (rare, huge entries): the rest, from where it stopped.
      const rest = written < sizeOf(parts) ? Buffer.concat(parts as Buffer[]).subarray(written) : null;
      for (let at = 0; rest !== null && at < rest.byteLength;) {
        at += await fsCall<number>((done) => fs.write(fd, rest, at, rest.byteLength - at, null, done));
      }
      if (fsync) await fsCall((done) => fs.fsync(fd, done));
    } finally {
      await fsCall((done) => fs.close(fd, done));
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await fsCall((done) => fs.rename(temp, path, done));
        break;
      } catch (error) {
        if (errno(error) !== 'ENOENT' || attempt === RENAME_ATTEMPTS) throw error;
        await fsCall((done) => fs.mkdir(folder, { recursive: true }, (e) => done(e)));
      }
    }
  } catch (error) {
    await fsCall((done) => fs.unlink(temp, done)).catch(() => undefined);
    throw error;
  }
}

/** A failed write as FJ_CACHE_WRITE_FAILED, naming what failed. */
export function cacheError(what: string, cause: unknown): Error {
  if (cause instanceof ForkJoinError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ForkJoinError(ErrorCodes.CACHE_WRITE_FAILED, `DiskCache: ${what}: ${message}`, { cause });
}
