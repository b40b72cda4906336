/**
 * Waiting on a word of shared memory: blocking (Atomics.wait, workers only) or
 * async (Atomics.waitAsync, any thread, the event loop keeps running), with a
 * deadline and an AbortSignal. Every primitive loops "check, then wait while the
 * word still holds what was seen", so spurious wake-ups are harmless.
 */
import { nowMs } from '../clock.js';
import { isMainThread } from 'node:worker_threads';
import { AbortError, ErrorCodes, ForkJoinError, callOutcome } from '../errors.js';
import { durationOption, knownKeys, objectOption, signalOption } from '../options.js';

export interface WaitOptions {
  /**
   * Milliseconds to wait before failing with FJ_LOCK_TIMEOUT.
   * @default Infinity
   */
  timeout?: number | undefined;
  /** Stops waiting (FJ_ABORTED); async waits only. */
  signal?: AbortSignal | undefined;
}

export interface Deadline {
  /** nowMs() by which to give up, or Infinity. */
  at: number;
  timeout: number;
  signal: AbortSignal | undefined;
  /** A wait that ends at `at` only to look around (a barrier checking its parties): its timer does not keep the process alive. */
  poll?: boolean | undefined;
}

export function deadline(where: string, options: WaitOptions | undefined, blocking: boolean): Deadline {
  const o = objectOption(where, options) as WaitOptions & Record<string, unknown>;
  knownKeys(where, o, blocking ? ['timeout'] : ['timeout', 'signal']);
  const timeout = o.timeout === undefined ? Number.POSITIVE_INFINITY : durationOption(where, 'timeout', o.timeout);
  const signal = signalOption(where, o.signal);
  if (signal?.aborted) throw new AbortError(`${where} was aborted`, { cause: signal.reason });
  return { at: nowMs() + timeout, timeout, signal };
}

export function timeoutError(what: string, timeout: number): ForkJoinError {
  return callOutcome(new ForkJoinError(ErrorCodes.LOCK_TIMEOUT, `${what} did not succeed within its timeout of ${timeout} ms`, { timeout }));
}

/** Blocking waits would freeze the main thread's event loop: refuse them there. */
export function assertMayBlock(where: string): void {
  if (isMainThread) {
    throw callOutcome(new ForkJoinError(ErrorCodes.SYNC_WOULD_BLOCK, `${where} blocks its thread, and the main thread must never block; use the async form (await) here, or call it inside a task`));
  }
}

/** A word of 32 bits, or one of 64 (a barrier's, whose round count never wraps), and its value. */
type AnyWords = Int32Array | BigInt64Array;
const atomicsWait = Atomics.wait as (words: AnyWords, index: number, expected: number | bigint, timeout?: number) => string;
const atomicsWaitAsync = Atomics.waitAsync as (words: AnyWords, index: number, expected: number | bigint) => ReturnType<typeof Atomics.waitAsync>;
const atomicsNotify = Atomics.notify as (words: AnyWords, index: number) => number;

/** Blocks while words[index] === expected, for at most `sliceMs` at a time; false once the deadline passed. */
export function waitSync(words: Int32Array, index: number, expected: number, until: Deadline, sliceMs?: number): boolean;
export function waitSync(words: BigInt64Array, index: number, expected: bigint, until: Deadline, sliceMs?: number): boolean;
export function waitSync(words: AnyWords, index: number, expected: number | bigint, until: Deadline, sliceMs = Number.POSITIVE_INFINITY): boolean {
  const left = Math.min(until.at - nowMs(), sliceMs);
  if (left <= 0) return false;
  atomicsWait(words, index, expected, left === Number.POSITIVE_INFINITY ? undefined : left);
  return true;
}

/**
 * Waits while words[index] === expected without blocking; false once the deadline
 * passed, rejects when aborted. The deadline is our own timer, which wakes the wait
 * with Atomics.notify: a waitAsync timeout is a delayed V8 task that Node does not
 * run before exiting, and the timer also keeps the process alive until then.
 * (Other waiters on the word wake too, re-check, and wait again.)
 */
export async function waitAsync(words: Int32Array, index: number, expected: number, until: Deadline): Promise<boolean>;
export async function waitAsync(words: BigInt64Array, index: number, expected: bigint, until: Deadline): Promise<boolean>;
export async function waitAsync(words: AnyWords, index: number, expected: number | bigint, until: Deadline): Promise<boolean> {
  const left = until.at - nowMs();
  if (left <= 0) return false;
  const result = atomicsWaitAsync(words, index, expected);
  if (!result.async) return true;
  let timedOut = false;
  const timer = left === Number.POSITIVE_INFINITY ? null : setTimeout(() => {
    timedOut = true;
    atomicsNotify(words, index);
  }, left);
  if (until.poll === true) timer?.unref();
  const signal = until.signal;
  let onAbort: (() => void) | null = null;
  const aborted = signal === undefined ? null : new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(new AbortError('The wait was aborted', { cause: signal.reason }));
      atomicsNotify(words, index);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await (aborted === null ? result.value : Promise.race([result.value, aborted]));
  } finally {
    if (timer !== null) clearTimeout(timer);
    if (onAbort !== null) signal?.removeEventListener('abort', onAbort);
  }
  return !timedOut || nowMs() < until.at;
}
