/**
 * The engine behind map, starmap and imap on every executor: pulls inputs
 * lazily, packs them into chunks (a fixed size, or sized from measured task
 * time), keeps a bounded number of chunks in flight, and hands each chunk's
 * outcome to a sink as soon as it lands.
 */
import { AbortError, ErrorCodes, ForkJoinError, InvalidTypeError } from './errors.js';
import { MAX_TIMER_MS } from './options.js';
import type { Progress } from './progress.js';
import type { ChunkResult } from './pool/protocol.js';
import { TaskFlag, isolates, packNumbers } from './pool/protocol.js';
import { kSoftAbort } from './pool/signals.js';
import { reviveTaskError } from './revive.js';
import { describeType, type Task, type TaskSpec } from './task.js';


export interface ChunkCall {
  /** The task as the caller named it (LocalExecutor calls it directly). */
  task: Task;
  /** Absent for a caller that cancels through `handle` instead. */
  signal: AbortSignal | undefined;
  /** ms for the whole chunk, 0 for none. */
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
  /**
   * Registers a map starting now (throws FJ_EXECUTOR_CLOSED once the executor is
   * closing): close() lets it finish, calling `onClosing` first. Call the returned function when it ends.
   */
  openMap(onClosing?: () => void): () => void;
}

export interface MapPlan {
  task: Task;
  spec: TaskSpec;
  spread: boolean;
  settle: boolean;
  chunksize: number | 'auto';
  timeout: number;
  retries: number | undefined;
  signal: AbortSignal | undefined;
  /** The caller gave a signal: aborting stops running chunks too. */
  stopsRunning: boolean;
  progress: Progress | null;
}

/** Receives outcomes; `errors` carry absolute input indexes. */
export interface MapSink {
  deliver(start: number, values: ArrayLike<unknown>, errors: ReadonlyArray<readonly [number, unknown]>): void;
  /**
   * How far the map may run ahead of its consumer: 'all' (map keeps every result), 'paced'
   * (imap: a few chunks' worth, pulled but not yet taken), or a number of results left unread
   * past which the map fails (imap of a closing executor, whose consumer may be gone).
   */
  ahead(): 'all' | 'paced' | number;
  /** Items delivered that the consumer has not taken yet (imap's backpressure). */
  backlog(): number;
  /**
   * Resolves true once the backlog is at most `n`, or when the sink's pace changes; false when
   * the consumer is gone (it took nothing for a long while as its closing executor waited).
   */
  drained(n: number): Promise<boolean>;
}

const TARGET_CHUNK_MS = 10;
const MAX_CHUNK = 8192;
/** The largest chunk of a paced imap, which keeps at most a window of them pulled but not taken. */
export const PACED_CHUNK = 256;

type Source = {
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  return?(): unknown;
  async: boolean;
  /** Up to `n` next items at once; only for an array iterated the standard way. */
  take?(n: number): unknown[];
};

const arrayIterator = Array.prototype[Symbol.iterator];
const arrayIteratorNext = Object.getPrototypeOf([][Symbol.iterator]()).next as unknown;

/** Whether iterating `inputs` means reading its elements in order (nothing patched). */
function isPlainArray(inputs: unknown): inputs is unknown[] {
  return Array.isArray(inputs) && inputs[Symbol.iterator] === arrayIterator
    && Object.getPrototypeOf([][Symbol.iterator]()).next === arrayIteratorNext;
}

function openSource(inputs: unknown): Source {
  if (isPlainArray(inputs)) {
    // Sliced a chunk at a time (a native copy), read as lazily as iteration would: at each pull.
    let at = 0;
    return {
      next: () => (at < inputs.length ? { value: inputs[at++], done: false } : { value: undefined, done: true }),
      take(n) {
        const items = inputs.slice(at, at + n);
        at += items.length;
        return items;
      },
      async: false,
    };
  }
  if (inputs !== null && typeof inputs === 'object' && Symbol.asyncIterator in inputs) {
    const it = (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    return { next: () => it.next(), return: () => it.return?.(), async: true };
  }
  if (inputs !== null && (typeof inputs === 'object' || typeof inputs === 'string') && Symbol.iterator in Object(inputs)) {
    const it = (inputs as Iterable<unknown>)[Symbol.iterator]();
    return { next: () => it.next(), return: () => it.return?.(), async: false };
  }
  throw new InvalidTypeError('inputs must be an iterable or an async iterable');
}

/** Whether map can iterate `inputs`: an iterable (a string too) or an async iterable. */
export function isIterableInput(inputs: unknown): boolean {
  if (typeof inputs === 'string') return true;
  if (typeof inputs !== 'object' || inputs === null) return false;
  return typeof (inputs as Iterable<unknown>)[Symbol.iterator] === 'function'
    || typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Whether starmap can spread `item` into a call's arguments: an array, or another iterable object. */
function isArgumentList(item: unknown): boolean {
  return Array.isArray(item) || (typeof item === 'object' && item !== null && typeof (item as Iterable<unknown>)[Symbol.iterator] === 'function');
}

/** The number of inputs, when it is known without consuming them. */
export function knownLength(inputs: unknown): number | undefined {
  if (Array.isArray(inputs)) return inputs.length;
  if (ArrayBuffer.isView(inputs)) return (inputs as unknown as { length: number }).length;
  if (inputs instanceof Set || inputs instanceof Map) return inputs.size;
  return undefined;
}

/** Runs the whole map; resolves when every input has an outcome, rejects on the first failure. */
export async function runMap(runner: ChunkRunner, inputs: unknown, plan: MapPlan, sink: MapSink, opened?: () => void): Promise<void> {
  const source = openSource(inputs);
  const closeMap = opened ?? runner.openMap();
  const total = knownLength(inputs);
  const controller = new AbortController();
  const flags = TaskFlag.Chunk | (plan.spread ? TaskFlag.Spread : 0) | (plan.settle ? TaskFlag.Settle : 0);
  const parallelism = Math.max(1, runner.parallelism);
  // A known number of inputs goes out in one wave of four chunks per worker (as Pool.map sends
  // its chunks); a stream keeps two per worker in flight.
  const window = Math.max(2, parallelism * (total === undefined ? 2 : 4));
  let perItemMs = -1;
  let finalChunk = 0;
  let pulled = 0;
  let inflight = 0;
  let inflightItems = 0;
  const perChunk = plan.chunksize === 'auto' ? PACED_CHUNK : plan.chunksize;
  let exhausted = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  let consumerGone = false;

  const onAbort = (): void => {
    // The caller's reason first: it stops running chunks, where fail()'s own would let them finish.
    controller.abort(plan.signal?.reason);
    fail(new AbortError('The map was aborted', { cause: plan.signal?.reason }));
  };
  // A progress listener that throws fails the map with its error.
  plan.progress?.onListenerFailure(fail);
  if (plan.signal?.aborted) onAbort();
  plan.signal?.addEventListener('abort', onAbort, { once: true });

  function fail(error: unknown): void {
    if (failure !== null) return;
    failure = { error };
    if (!controller.signal.aborted) controller.abort(kSoftAbort);
    wake?.();
  }

  function nextSize(): number {
    if (plan.chunksize !== 'auto') return plan.chunksize;
    if (!runner.chunksPayOff || plan.timeout > 0) return 1;
    if (perItemMs < 0) {
      // Nothing measured yet: Pool.map's rule of four chunks per worker, or one item at a time for a stream.
      return total === undefined ? 1 : Math.max(1, Math.min(Math.ceil(total / (parallelism * 4)), MAX_CHUNK));
    }
    const left = total === undefined ? undefined : total - pulled;
    // Less than one chunk's worth of work left: one last chunk per worker finishes it.
    if (left !== undefined && (finalChunk > 0 || left * perItemMs < TARGET_CHUNK_MS * parallelism)) {
      if (finalChunk === 0) finalChunk = Math.ceil(left / parallelism);
      return Math.max(1, Math.min(left, finalChunk));
    }
    const bySpeed = perItemMs === 0 ? MAX_CHUNK : Math.round(TARGET_CHUNK_MS / perItemMs);
    const fair = left === undefined ? MAX_CHUNK : Math.ceil(left / (parallelism * 2));
    return Math.max(1, Math.min(bySpeed, fair, MAX_CHUNK));
  }

  function launch(start: number, items: unknown[]): void {
    if (plan.spread) {
      const bad = items.findIndex((item) => !isArgumentList(item));
      if (bad >= 0) {
        fail(new InvalidTypeError(`starmap: each input must be the argument list of one call (an array); inputs[${start + bad}] is ${describeType(items[bad])}`));
        return;
      }
    }
    inflight++;
    inflightItems += items.length;
    const timeout = plan.timeout > 0 ? Math.min(plan.timeout * items.length, MAX_TIMER_MS) : 0;
    const packed = runner.chunksPayOff && !plan.spread ? packNumbers(items) : null;
    const sent = packed ?? items;
    const chunkFlags = packed === null ? flags : flags | TaskFlag.Packed;
    runner.runChunk(plan.spec, sent as unknown[], chunkFlags, { task: plan.task, signal: controller.signal, timeout, retries: plan.retries, stopsRunning: plan.stopsRunning, first: start }).then(
      (result) => landed(start, items.length, result),
      (error: unknown) => crashed(start, items, error),
    );
  }

  function landed(start: number, count: number, result: ChunkResult): void {
    inflight--;
    inflightItems -= count;
    if (count > 0) {
      const sample = result.ms / count;
      perItemMs = perItemMs < 0 ? sample : perItemMs * 0.7 + sample * 0.3;
    }
    if (failure === null) {
      const errors = result.errors.map(([i, wire]) => [start + i, reviveTaskError(wire, plan.spec, { index: start + i })] as const);
      if (errors.length > 0 && !plan.settle) fail(errors[0][1]);
      else {
        sink.deliver(start, result.values, errors);
        plan.progress?.add(count, errors.length);
      }
    }
    wake?.();
  }

  function crashed(start: number, items: unknown[], error: unknown): void {
    const count = items.length;
    inflight--;
    inflightItems -= count;
    if (failure === null && count > 1 && isolates(error)) {
      // One input killed the worker (or outlived the chunk's timeout), and the chunk's results went
      // with it: each input runs again alone, so that only the one to blame fails.
      for (let i = 0; i < count; i++) launch(start + i, [items[i]]);
    } else if (failure === null) {
      // A lone input's own failure (its worker died) names it, as a task's error does.
      if (count === 1 && error instanceof ForkJoinError && !('index' in error)) Object.assign(error, { index: start });
      if (plan.settle && !(error instanceof AbortError)) {
        const errors = Array.from({ length: count }, (_, i) => [start + i, error] as const);
        sink.deliver(start, new Array(count), errors);
        plan.progress?.add(count, count);
      } else fail(error);
    }
    wake?.();
  }

  /** The next chunk of an array, at once: the whole first wave then reaches the pool in one turn (one message per worker). */
  function take(size: number): unknown[] {
    const taken = (source.take as (n: number) => unknown[])(size);
    if (taken.length < size) exhausted = true;
    return taken;
  }

  async function pull(size: number): Promise<unknown[]> {
    const items: unknown[] = [];
    while (items.length < size) {
      const step: unknown = source.async ? await source.next() : source.next();
      if (typeof step !== 'object' || step === null) {
        throw new InvalidTypeError(`the inputs' iterator returned ${describeType(step)} from next(), not an iterator result ({ value, done })`);
      }
      if ((step as IteratorResult<unknown>).done) {
        exhausted = true;
        break;
      }
      items.push((step as IteratorResult<unknown>).value);
      if (failure !== null) break;
    }
    return items;
  }

  try {
    for (;;) {
      // The backlog at which the consumer will have made room for the next chunk; null when not waiting on it.
      let roomAt: number | null = null;
      while (failure === null && !exhausted && inflight < window) {
        const ahead = sink.ahead();
        let size = nextSize();
        if (ahead !== 'all') {
          // Pulled but not taken (in flight or buffered) stays under a bound that does not grow with task speed.
          if (ahead === 'paced') size = Math.min(size, perChunk);
          else if (consumerGone) {
            fail(new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, `close() could not finish this imap: its consumer stopped reading, with ${sink.backlog()} results unread. return() the iterator (or break out of its loop) before close(), or call terminate()`));
            break;
          }
          const limit = ahead === 'paced' ? window * perChunk : ahead;
          const need = ahead === 'paced' ? size : 1;
          const room = limit - inflightItems - sink.backlog();
          if (room < need) {
            roomAt = limit - inflightItems - need;
            break;
          }
          size = Math.min(size, room);
        }
        const start = pulled;
        const items = source.take !== undefined ? take(size) : await pull(size);
        pulled += items.length;
        if (items.length > 0 && failure === null) launch(start, items);
      }
      if (failure !== null || (exhausted && inflight === 0)) break;
      const waitFor = roomAt;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (waitFor !== null) {
          void sink.drained(waitFor).then((drained) => {
            consumerGone ||= !drained;
            resolve();
          });
        }
      });
      wake = null;
    }
  } catch (error) {
    fail(error);
  } finally {
    closeMap();
    plan.signal?.removeEventListener('abort', onAbort);
    if (!exhausted) {
      try { await source.return?.(); } catch { /* the input's own cleanup failed; the map's outcome stands */ }
    }
  }
  plan.progress?.finish();
  if (failure !== null) throw (failure as { error: unknown }).error;
}
