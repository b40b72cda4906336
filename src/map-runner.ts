/**
 * What an executor offers the map engine (map.ts), and how a map registers with its executor so
 * that close() and terminate() reach it.
 */
import { ErrorCodes, ForkJoinError } from './errors.js';
import type { Closing } from './idle.js';
import type { ChunkResult } from './pool/protocol.js';
import type { Task, TaskSpec } from './task.js';

export interface ChunkCall {
  /** The task as the caller named it (LocalExecutor calls it directly). */
  task: Task;
  /** Absent for a caller that cancels through `handle` instead. */
  signal: AbortSignal | undefined;
  /** ms for the whole chunk (Infinity for none); 0, from a caller other than runMap, for the executor's own timeout. */
  timeout: number;
  /** Whether aborting should stop a chunk already running (the caller gave a signal). */
  stopsRunning: boolean;
  retries: number | undefined;
  /** Given by a caller that cancels single chunks: a pool fills it in when it takes the chunk. */
  handle?: CancelHandle;
  /** The index of the chunk's first input, to name an input that cannot be sent (`inputs[7]`). */
  first?: number;
}

/**
 * Cancels one chunk without an AbortSignal of its own: an abort listener per chunk costs
 * more than a tiny task (a cluster engine runs each job as a chunk).
 */
export interface CancelHandle {
  cancel: ((reason: unknown) => void) | null;
}

/** What an executor offers the engine. */
export interface ChunkRunner {
  runChunk(spec: TaskSpec, items: unknown[], flags: number, call: ChunkCall): Promise<ChunkResult>;
  /** Tasks it can run at once. */
  readonly parallelism: number;
  /** Whether sending a task costs a message (pools), so that chunks pay off. */
  readonly chunksPayOff: boolean;
  /** The executor's own time limit of a task in ms (Infinity for none): a map without one of its own bounds each input by it. */
  readonly defaultTimeout: number;
  /**
   * Registers a map starting now (throws FJ_EXECUTOR_CLOSED once the executor is closing):
   * close() lets it finish, calling `onClosing` first, told whether close() cancels pending work;
   * terminate() calls it too. Call the returned function when it ends.
   */
  openMap(onClosing?: (how: Closing) => void): () => void;
}

/** A map registered with its executor: `end` unregisters it; `cancel` is what close({ cancelPending }) and terminate() call. */
export interface MapEntry {
  end: () => void;
  /** Set by runMap once the map runs; before that, by the caller that registered it. */
  cancel: ((error: ForkJoinError) => void) | null;
}

/** Registers a map with its executor; `onClosing` runs when close() begins without cancelPending. */
export function openEntry(runner: ChunkRunner, onClosing?: () => void): MapEntry {
  const entry: MapEntry = { end: () => {}, cancel: null };
  entry.end = runner.openMap((how) => {
    if (how === 'drain') onClosing?.();
    else entry.cancel?.(cancelledError(how));
  });
  return entry;
}

/** The error of a map whose inputs close({ cancelPending: true }) or terminate() cancelled before they were sent. */
function cancelledError(how: 'cancel' | 'terminate'): ForkJoinError {
  if (how === 'terminate') return new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, "terminate() was called before this map's remaining inputs started; they were cancelled");
  return new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, "close({ cancelPending: true }) was called before this map's remaining inputs started; they were cancelled");
}
