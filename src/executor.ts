/**
 * The one interface every executor implements, and what they share: map,
 * starmap and imap are written once here over each executor's chunk runner.
 */
import type { Transferable } from './transfer.js';
import { InvalidTypeError, InvalidValueError } from './errors.js';
import type { Job } from './job.js';
import { isIterableInput, knownLength } from './inputs.js';
import { runMap, type ChunkRunner, type MapPlan, type MapSink } from './map.js';
import { booleanOption, durationOption, integerOption, knownKeys, objectOption, progressOption, signalOption } from './options.js';
import { streamResults } from './imap.js';
import { Progress, type ProgressListener } from './progress.js';
import type { ExecutorStats } from './stats.js';
import { describeType, toTaskSpec, type Task, type TaskSpec } from './task.js';

export interface CallOptions {
  /**
   * Cancels the task: a queued task is removed at once, a running one is stopped (its worker is replaced).
   * @example { signal: AbortSignal.timeout(5_000) }
   */
  signal?: AbortSignal | undefined;
  /**
   * Milliseconds the task may run, counted from when it starts; then its worker is replaced.
   * @default the executor's `timeout` (none)
   * @example { timeout: 2_000 }
   */
  timeout?: number | undefined;
  /**
   * Buffers to move to the worker instead of copying (they become unusable here).
   * @example { transfer: [image.buffer] }
   */
  transfer?: readonly Transferable[] | undefined;
  /**
   * Times the task runs again if its worker crashes, runs out of memory or times out.
   * @default the executor's `retries` (0)
   */
  retries?: number | undefined;
}

export interface MapOptions extends Omit<CallOptions, 'transfer'> {
  /**
   * Inputs sent to a worker per message: a number, or 'auto' to size chunks from measured task time.
   * @default 'auto'
   * @example { chunksize: 100 }
   */
  chunksize?: number | 'auto' | undefined;
  /**
   * Results in input order (true) or as they finish (false; imap only — map always returns input order).
   * @default true
   */
  ordered?: boolean | undefined;
  /**
   * A progress bar on stderr (true; drawn only when stderr is a terminal) or a listener.
   * @default false
   * @example { progress: (p) => console.log(p.done, p.total) }
   */
  progress?: boolean | ProgressListener | undefined;
  /**
   * Every outcome instead of rejecting at the first error: results become { status, value | reason }.
   * @default false
   */
  settle?: boolean | undefined;
}

/** One outcome of a map with `settle: true`. */
export type Settled<R> =
  | { status: 'fulfilled'; value: R }
  | { status: 'rejected'; reason: unknown };

export interface Executor {
  /** Runs one task and resolves to its result. */
  run<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Promise<Awaited<R>>;
  /** Starts one task and returns a handle with `id`, `state` and `cancel()`. */
  submit<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Job<Awaited<R>>;
  /** Runs the task on every input; results in input order. */
  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions & { settle?: false | undefined }): Promise<Array<Awaited<R>>>;
  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options: MapOptions & { settle: true }): Promise<Array<Settled<Awaited<R>>>>;
  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions): Promise<Array<Awaited<R>> | Array<Settled<Awaited<R>>>>;
  /** Like map, each input being the argument list. */
  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options?: MapOptions & { settle?: false | undefined }): Promise<Array<Awaited<R>>>;
  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options: MapOptions & { settle: true }): Promise<Array<Settled<Awaited<R>>>>;
  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options?: MapOptions): Promise<Array<Awaited<R>> | Array<Settled<Awaited<R>>>>;
  /** Streams results, pulling inputs lazily with a bounded number in flight. */
  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions & { settle?: false | undefined }): AsyncIterableIterator<Awaited<R>>;
  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options: MapOptions & { settle: true }): AsyncIterableIterator<Settled<Awaited<R>>>;
  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R> | Settled<Awaited<R>>>;
  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void>;
  /** Finishes queued work, then stops. Safe to call twice. */
  close(options?: { cancelPending?: boolean | undefined }): Promise<void>;
  /** Stops now; pending tasks reject with FJ_EXECUTOR_TERMINATED. */
  terminate(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  stats(): ExecutorStats;
}

const mapKeys = ['signal', 'timeout', 'retries', 'chunksize', 'ordered', 'progress', 'settle'] as const;
const callKeys = ['signal', 'timeout', 'transfer', 'retries'] as const;

/** CallOptions checked, with the executor's defaults filled in. */
export interface ParsedCallOptions {
  timeout: number;
  retries: number;
  signal: AbortSignal | undefined;
  transfer: Transferable[] | undefined;
}

/** Validates a call's options with one wording for every executor. */
export function parseCallOptions(where: string, options: unknown, defaults: { timeout: number; retries: number }): ParsedCallOptions {
  const o = objectOption(where, options) as CallOptions & Record<string, unknown>;
  knownKeys(where, o, callKeys);
  if (o.transfer !== undefined) {
    const list: unknown = o.transfer;
    // A view (a typed array, a Buffer) is not what moves: its ArrayBuffer is.
    const bad = Array.isArray(list) ? list.findIndex((item) => typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) : -1;
    if (!Array.isArray(list) || bad >= 0) {
      const view = Array.isArray(list) && ArrayBuffer.isView(list[bad]) ? ': list its buffer instead, as in { transfer: [bytes.buffer] }' : '';
      const received = Array.isArray(list) ? `transfer[${bad}] is ${describeType(list[bad])}${view}` : `received ${describeType(list)}`;
      throw new InvalidTypeError(`${where}: the "transfer" option must be an array of transferable objects (ArrayBuffer, MessagePort); ${received}`);
    }
  }
  return {
    timeout: o.timeout === undefined ? defaults.timeout : durationOption(where, 'timeout', o.timeout),
    retries: o.retries === undefined ? defaults.retries : integerOption(where, 'retries', o.retries, 0, 1_000),
    signal: signalOption(where, o.signal),
    transfer: o.transfer as Transferable[] | undefined, // only read (a frozen list works)
  };
}

export abstract class BaseExecutor implements Executor {
  abstract run<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Promise<Awaited<R>>;
  abstract submit<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Job<Awaited<R>>;
  abstract close(options?: { cancelPending?: boolean | undefined }): Promise<void>;
  abstract terminate(): Promise<void>;
  abstract onIdle(): Promise<void>;
  abstract stats(): ExecutorStats;
  /** @internal How map runs its chunks on this executor. */
  protected abstract chunkRunner(): ChunkRunner;

  /** What the executor needs to know of a task; a worker needs its source, or its module. */
  protected taskSpec(task: unknown): TaskSpec {
    return toTaskSpec(task);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions & { settle?: false | undefined }): Promise<Array<Awaited<R>>>;
  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options: MapOptions & { settle: true }): Promise<Array<Settled<Awaited<R>>>>;
  map<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions): Promise<Array<Awaited<R>> | Array<Settled<Awaited<R>>>>;
  map(task: Task, inputs: unknown, options?: MapOptions): Promise<unknown[]> {
    return this.#collect('map', task, inputs, options, false);
  }

  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options?: MapOptions & { settle?: false | undefined }): Promise<Array<Awaited<R>>>;
  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options: MapOptions & { settle: true }): Promise<Array<Settled<Awaited<R>>>>;
  starmap<A extends unknown[], R>(task: Task<A, R>, inputs: Iterable<Readonly<A>> | AsyncIterable<Readonly<A>>, options?: MapOptions): Promise<Array<Awaited<R>> | Array<Settled<Awaited<R>>>>;
  starmap(task: Task, inputs: unknown, options?: MapOptions): Promise<unknown[]> {
    return this.#collect('starmap', task, inputs, options, true);
  }

  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions & { settle?: false | undefined }): AsyncIterableIterator<Awaited<R>>;
  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options: MapOptions & { settle: true }): AsyncIterableIterator<Settled<Awaited<R>>>;
  imap<T, R>(task: Task<[T], R>, inputs: Iterable<T> | AsyncIterable<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R> | Settled<Awaited<R>>>;
  imap(task: Task, inputs: unknown, options?: MapOptions): AsyncIterableIterator<unknown> {
    const plan = this.#plan('imap', task, inputs, options, false);
    const ordered = options?.ordered ?? true;
    return streamResults(this.chunkRunner(), inputs, plan, ordered);
  }

  async #collect(where: string, task: Task, inputs: unknown, options: MapOptions | undefined, spread: boolean): Promise<unknown[]> {
    const plan = this.#plan(where, task, inputs, options, spread);
    const settle = plan.settle;
    if (!settle) {
      // Chunks are kept as they land and joined once, in order, by native copies.
      const chunks: Array<{ start: number; values: ArrayLike<unknown> }> = [];
      const sink: MapSink = {
        deliver(start, values) { chunks.push({ start, values }); },
        ahead: () => 'all',
        backlog: () => 0,
        drained: () => Promise.resolve(true),
      };
      await runMap(this.chunkRunner(), inputs, plan, sink);
      chunks.sort((a, b) => a.start - b.start);
      if (chunks.length === 1 && Array.isArray(chunks[0].values)) return chunks[0].values;
      // One array, filled by index: Array.from() of a packed Float64Array goes through its iterator.
      let length = 0;
      for (const chunk of chunks) length += chunk.values.length;
      const out = new Array<unknown>(length);
      let at = 0;
      for (const { values } of chunks) for (let i = 0; i < values.length; i++) out[at++] = values[i];
      return out;
    }
    const results: unknown[] = new Array(knownLength(inputs) ?? 0);
    const sink: MapSink = {
      deliver(start, values, errors) {
        for (let i = 0; i < values.length; i++) results[start + i] = { status: 'fulfilled', value: values[i] };
        for (const [index, reason] of errors) results[index] = { status: 'rejected', reason };
      },
      ahead: () => 'all',
      backlog: () => 0,
      drained: () => Promise.resolve(true),
    };
    await runMap(this.chunkRunner(), inputs, plan, sink);
    return results;
  }

  #plan(where: string, task: Task, inputs: unknown, options: MapOptions | undefined, spread: boolean): MapPlan {
    const label = `${this.constructor.name}.${where}`;
    const o = objectOption(label, options) as MapOptions & Record<string, unknown>;
    knownKeys(label, o, mapKeys);
    const spec = this.taskSpec(task);
    if (!isIterableInput(inputs)) {
      throw new InvalidTypeError(`${label}: inputs must be an iterable or an async iterable; received ${describeType(inputs)}`);
    }
    let chunksize: number | 'auto' = 'auto';
    if (typeof o.chunksize === 'string' && o.chunksize !== 'auto') {
      throw new InvalidValueError(`${label}: the "chunksize" option must be 'auto' or an integer from 1 to ${1 << 24}; received ${JSON.stringify(o.chunksize)}`);
    }
    if (o.chunksize !== undefined && o.chunksize !== 'auto') chunksize = integerOption(label, 'chunksize', o.chunksize, 1, 1 << 24);
    if (o.ordered !== undefined) booleanOption(label, 'ordered', o.ordered);
    const settle = o.settle === undefined ? false : booleanOption(label, 'settle', o.settle);
    if (o.progress !== undefined) progressOption(label, o.progress);
    return {
      label,
      task,
      spec,
      spread,
      settle,
      chunksize,
      // 0: the executor's own; Infinity: none, whatever the executor's.
      timeout: o.timeout === undefined ? 0 : durationOption(label, 'timeout', o.timeout),
      retries: o.retries === undefined ? undefined : integerOption(label, 'retries', o.retries, 0, 1_000),
      signal: signalOption(label, o.signal),
      stopsRunning: o.signal !== undefined,
      progress: Progress.create(o.progress, spec.name === 'anonymous' ? where : spec.name, knownLength(inputs)),
    };
  }
}
