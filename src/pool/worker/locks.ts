/**
 * A worker's side of forkjoin's locks: reviving the locks a task's arguments carry (the library's
 * decoder, loaded with the first call that carries one), releasing what finished tasks left
 * locked, and sending a result that holds a lock as records for the pool to revive.
 */
import { ErrorCodes } from '../../errors.js';
import { syncDecoder } from '../../paths.js';
import { LOCKS_LEFT } from '../../sync/tag.js';
import { codedError } from '../../task-loader.js';
import { ownWire, type WireValue } from '../../wire-error.js';
import { RESULT_ENCODER, type ResultEncoder } from '../protocol.js';

type Decode = (value: unknown) => unknown;
/** Revives the locks in a task's arguments; loaded with the first task that carries one. */
let decodeSync: Decode | null = null;
/** Releases the mutexes finished tasks left locked; handed over by the library once a mutex exists in this thread (listenForLocks). */
let releaseAbandoned: (() => void) | null = null;

/**
 * Lets the library hand over how to release what finished tasks left locked, with the first mutex
 * made or received in this thread (by a task, its module, a setup, or as an argument): until then
 * nothing can be locked here, and a task's end costs nothing more.
 */
export function listenForLocks(): void {
  const listen = (release: () => void): void => {
    // One per instance of the library this thread loaded (a task may import another copy).
    const before = releaseAbandoned;
    releaseAbandoned = before === null ? release : () => { before(); release(); };
  };
  Object.defineProperty(globalThis, LOCKS_LEFT, { value: listen, configurable: true });
}

/** Whether the decoder is loaded (or failed to load: decoding then throws why). */
export function lockSupportLoaded(): boolean {
  return decodeSync !== null;
}

/** Loads the library's lock support into this worker. */
export function loadLockSupport(): Promise<void> {
  return (import(syncDecoder.href) as Promise<{ decodeSync: Decode }>).then(
    (m) => {
      decodeSync = m.decodeSync;
    },
    (cause: unknown) => {
      decodeSync = () => { throw codedError(ErrorCodes.MODULE_LOAD_FAILED, `forkjoin's lock support failed to load in this worker: ${(cause as Error)?.message ?? String(cause)}`, cause); };
    },
  );
}

/** Turns the lock records in `args` back into locks, in place (loadLockSupport came first). */
export function decodeLocks(args: unknown[]): void {
  (decodeSync as Decode)(args);
}

/** Releases the mutexes left locked by tasks that finished, once none runs. */
export function releaseLocksLeft(): void {
  releaseAbandoned?.();
}

/**
 * `out` with its locks as records, `out` itself when it holds none (or no lock exists in this
 * thread, made or received), or the error to fail the call with when a lock cannot go.
 */
export function resultWithLocks(out: object, moves: boolean): { value: unknown } | { error: WireValue } {
  const encode = (globalThis as { [RESULT_ENCODER]?: ResultEncoder })[RESULT_ENCODER];
  if (encode === undefined) return { value: out };
  try {
    return { value: encode(out, moves ? 'thread' : 'process') };
  } catch (thrown) {
    return { error: ownWire(thrown) };
  }
}
