/**
 * The wire protocol between a pool and its workers: one map of message kinds
 * and the shape of each message. Both transports (threads, processes) carry
 * the same messages; each side reads them with one switch.
 */
import { ErrorCodes, isCancellation } from '../errors.js';
import type { WireValue } from '../wire-error.js';

export const Msg = Object.freeze({
  // pool -> worker
  Init: 1,
  Run: 2,
  Cancel: 3,
  Shutdown: 4,
  TakeBack: 5,
  // worker -> pool
  Ready: 10,
  SetupFailed: 11,
  Results: 12,
  // worker -> its transport
  Crashed: 13,
  Output: 14,
});

/** Bits of a task's `flags` in a Run message. */
export const TaskFlag = Object.freeze({
  /** Report it (and the results held) when it begins: it has a timeout or a signal. */
  Watched: 1,
  /** `args` is `[items]`: call the function once per item. */
  Chunk: 2,
  /** With Chunk: keep going after an item fails. */
  Settle: 4,
  /** With Chunk: each item is an argument list (starmap). */
  Spread: 8,
  /** With Chunk: the items are all numbers, packed in one Float64Array (a copy is a memcpy). */
  Packed: 16,
  /** The arguments hold locks or other primitives to rebuild in the worker. */
  Sync: 32,
  /** The pool may take it back before it begins: the worker claims it first (claims.ts). */
  Claimed: 64,
  /** Someone listens to the pool's task events: the worker sends when it began and ended (ResultsMessage begun, ended). */
  Timed: 128,
});

/** A function the worker compiles (inline) or imports (module) once and keeps. */
export type FnDef = [fnId: number, kind: 'module' | 'inline', code: string, name: string];

export interface InitMessage {
  k: typeof Msg.Init;
  concurrency: number;
  /** `sync`: its arguments hold locks, as records to revive. */
  setup: { def: FnDef; args: unknown[]; sync: boolean } | null;
}
/** `tasks` is flat: id, fnId, flags, args, id, fnId, flags, args, ... */
export interface RunMessage {
  k: typeof Msg.Run;
  defs: FnDef[] | null;
  tasks: unknown[];
}
export interface CancelMessage { k: typeof Msg.Cancel; id: number }
export interface ShutdownMessage { k: typeof Msg.Shutdown }
/** Calls sent to a child that it should give back if it has not begun them (rebalance.ts). */
export interface TakeBackMessage { k: typeof Msg.TakeBack; ids: number[] }
export type PoolMessage = InitMessage | RunMessage | CancelMessage | ShutdownMessage | TakeBackMessage;

export interface ReadyMessage { k: typeof Msg.Ready }
export interface SetupFailedMessage { k: typeof Msg.SetupFailed; error: WireValue }
/**
 * `done` is flat (id, value, ...), `failed` too (id, WireValue, ...); `busy` is ms spent running since the
 * last report; `started` names calls that began since (and are running unless answered here).
 */
export interface ResultsMessage {
  k: typeof Msg.Results; done: unknown[]; failed: unknown[]; busy: number; started: number[];
  /** Positions in `done` of values holding locks as records, for the pool to revive (decodeSync); absent when none. */
  revive?: number[];
  /** Calls received whose module is still loading: their timeouts run from here (the import is part of a call). */
  loading?: number[];
  /** Calls given back, not begun, at the pool's request (TakeBack): the pool sends them elsewhere. */
  returned?: number[];
  /** Timed calls reported started here, flat: id, epoch ms (the pool's taskStart events). */
  begun?: number[];
  /** Timed calls answered here, flat: id, start, end in epoch ms (the pool's taskEnd events). */
  ended?: number[];
}

/** The global under which a thread that made or received a lock keeps the function that encodes a result holding one. */
export const RESULT_ENCODER = Symbol.for('forkjoin.encodeResult');
/** What RESULT_ENCODER holds: `value`, or a copy with records for its locks; throws when one cannot go where it is sent. */
export type ResultEncoder = (value: object, to: 'thread' | 'process') => unknown;
export type WorkerMessage = ReadyMessage | SetupFailedMessage | ResultsMessage;
/** A child's last words before an uncaught exception ends it: the transport gives the error as the exit's cause. */
export interface CrashedMessage { k: typeof Msg.Crashed; error: WireValue }
/** What a worker wrote to its stdout (1) or stderr (2), sent on the channel its results take so it arrives first. */
export interface OutputMessage { k: typeof Msg.Output; fd: 1 | 2; data: string | Uint8Array }
/** What a ThreadPool worker posts. */
export type ThreadMessage = WorkerMessage | OutputMessage;
/** What a ProcessPool child sends over IPC. */
export type ChildMessage = WorkerMessage | CrashedMessage | OutputMessage;

/** What a chunk task returns: one value per item, and the items that failed. */
export interface ChunkResult {
  /** A Float64Array when every value is a number: it crosses back without per-item encoding. */
  values: unknown[] | Float64Array;
  errors: Array<[index: number, error: WireValue]>;
  /** Milliseconds the chunk took in the worker, for `chunksize: 'auto'`. */
  ms: number;
}

/** Failures of a whole chunk that one of its inputs may have caused alone. */
const ISOLATED: ReadonlySet<unknown> = new Set([ErrorCodes.WORKER_EXITED, ErrorCodes.WORKER_OUT_OF_MEMORY, ErrorCodes.TASK_TIMEOUT, ErrorCodes.RESULT_NOT_CLONEABLE]);

/** Whether a chunk that failed with `error` runs its inputs again one by one (map.ts), to blame one. */
export function isolates(error: unknown): boolean {
  return ISOLATED.has((error as { code?: unknown } | null)?.code);
}

/** The map's index of the one input a chunk's error blames for not being sendable (map.ts sends the others again), or -1. */
export function unsendableInput(error: unknown): number {
  const e = error as { code?: unknown; index?: unknown } | null;
  return e?.code === ErrorCodes.ARG_NOT_CLONEABLE && typeof e.index === 'number' ? e.index : -1;
}

const NEITHER = [0, 0] as const;
const ONE_DONE = [1, 0] as const;
const ONE_FAILED = [0, 1] as const;

/**
 * The inputs a settled call accounts for in stats(), as [succeeded, failed]: a map chunk's own
 * inputs (those run before its first error, unless it settles every one), any other call itself.
 */
export function settledInputs(flags: number, args: readonly unknown[], ok: boolean, value: unknown, neverStarted: boolean): readonly [number, number] {
  // A call cancelled (aborted, or dropped before it started by close({ cancelPending }) or terminate()) did not fail: neither counts.
  if (!ok && isCancellation(value, neverStarted)) return NEITHER;
  if ((flags & TaskFlag.Chunk) === 0) return ok ? ONE_DONE : ONE_FAILED;
  const count = (args[0] as ArrayLike<unknown>).length;
  // A chunk its map runs again input by input counts then; one refused for one input's sake, that input.
  if (!ok) return [0, count > 1 && isolates(value) ? 0 : count > 1 && unsendableInput(value) >= 0 ? 1 : count];
  const errors = (value as ChunkResult).errors;
  if (errors.length === 0) return [count, 0];
  return [(flags & TaskFlag.Settle) !== 0 ? count - errors.length : errors[0][0], errors.length];
}

/** The items as a Float64Array when they are all numbers, else null. */
export function packNumbers(items: ArrayLike<unknown>): Float64Array | null {
  const n = items.length;
  if (n < 16 || typeof items[0] !== 'number') return null;
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const item = items[i];
    if (typeof item !== 'number') return null;
    packed[i] = item;
  }
  return packed;
}

export function protocolError(side: string, message: unknown): Error {
  const kind = typeof message === 'object' && message !== null ? (message as { k?: unknown }).k : message;
  return Object.assign(new Error(`forkjoin ${side}: unknown message kind ${String(kind)} (a forkjoin bug; please report it)`), {
    code: 'FJ_PROTOCOL',
  });
}
