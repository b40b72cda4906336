/**
 * The engine behind map, starmap and imap on every executor: pulls inputs
 * lazily, packs them into chunks (a fixed size, or sized from measured task
 * time), keeps a bounded number of chunks in flight, and hands each chunk's
 * outcome to a sink as soon as it lands.
 */
import { AbortError, ErrorCodes, ForkJoinError, InvalidTypeError, withFacts } from './errors.js';
import { isArgumentList, knownLength, openSource } from './inputs.js';
import { openEntry, type ChunkRunner, type MapEntry } from './map-runner.js';
import { MAX_TIMER_MS } from './options.js';
import type { Progress } from './progress.js';
import type { ChunkResult } from './pool/protocol.js';
import { TaskFlag, isolates, packNumbers, unsendableInput } from './pool/protocol.js';
import { kSoftAbort } from './pool/signals.js';
import { reviveTaskError } from './revive.js';
import { describeType, type Task, type TaskSpec } from './task.js';

export { openEntry, type CancelHandle, type ChunkCall, type ChunkRunner, type MapEntry } from './map-runner.js';

export interface MapPlan {
  /** How errors name the call: `ThreadPool.starmap`. */
  label: string;
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
  /**
   * Takes a chunk's outcome. A sink that `failsInOrder` is given failed inputs without settle
   * too, and returns the error once every result before it was delivered: the map then fails.
   */
  deliver(start: number, values: ArrayLike<unknown>, errors: ReadonlyArray<readonly [number, unknown]>): { error: unknown } | void;
  /** Whether an input's error (without settle) must wait for every result before it (ordered imap); else it fails the map at once. */
  readonly failsInOrder?: boolean;
  /** Whether the inputs' iterator failing waits for the inputs pulled before (imap yields their results, then its error); else it fails the map at once. */
  readonly keepsPulled?: boolean;
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
/** What an async input's next step reads as once the map stopped waiting for it. */
const STOPPED = Symbol('stopped');

/**
 * Runs the whole map; resolves when every input has an outcome, rejects on the first failure
 * (for a sink that `failsInOrder`, once it delivered every result before the failed input).
 */
export async function runMap(runner: ChunkRunner, inputs: unknown, plan: MapPlan, sink: MapSink, opened?: MapEntry): Promise<void> {
  const source = openSource(inputs);
  const entry = opened ?? openEntry(runner);
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
  // close({ cancelPending }) or terminate() came when nothing was left to send.
  let sendNoMore = false;
  let failure: { error: unknown } | null = null;
  // An input failed, and the sink fails in order: nothing more is sent; the map fails once the sink reaches it.
  let held: { error: unknown } | null = null;
  // The inputs' iterator failed, and the sink keeps what was pulled: the map fails once that has landed.
  let sourceError: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  let consumerGone = false;
  // Ends the wait for an async input's next step when the map stops; null when not waiting.
  let stopPull: (() => void) | null = null;
  // The map stopped waiting for a next() that may never settle: the input's return() would wait behind it.
  let abandoned = false;
  // close({ cancelPending }), terminate(): inputs not sent yet are cancelled (the executor fails the chunks it holds queued).
  entry.cancel = (error) => {
    if (total !== undefined ? pulled < total : !exhausted && sourceError === null) fail(error);
    else {
      // Every input was pulled, the end not yet seen: pull no more (an imap would otherwise wait
      // for its consumer, perhaps gone, before looking), and finish what runs.
      sendNoMore = true;
      wake?.();
    }
  };

  const onAbort = (): void => {
    // The caller's reason first: it stops running chunks, where fail()'s own would let them finish.
    controller.abort(plan.signal?.reason);
    fail(new AbortError('The map was aborted', { cause: plan.signal?.reason }));
  };
  // A progress listener that throws fails the map with its error. Its clock starts now (an imap's, at its first next()).
  plan.progress?.start();
  plan.progress?.onListenerFailure(fail);
  if (plan.signal?.aborted) onAbort();
  plan.signal?.addEventListener('abort', onAbort, { once: true });

  // A finite timeout, the map's own or else the executor's, bounds each input: chunks of one, or a chunk's sum.
  const inputTimeout = plan.timeout > 0 ? plan.timeout : runner.defaultTimeout;
  const perInputTimeout = inputTimeout !== Number.POSITIVE_INFINITY;

  function fail(error: unknown): void {
    if (failure !== null) return;
    failure = { error };
    if (!controller.signal.aborted) controller.abort(kSoftAbort);
    wake?.();
    stopPull?.();
  }

  function nextSize(): number {
    if (plan.chunksize !== 'auto') return plan.chunksize;
    if (!runner.chunksPayOff || perInputTimeout) return 1;
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
        fail(new InvalidTypeError(`${plan.label}: each input must be the argument list of one call (an array); inputs[${start + bad}] is ${describeType(items[bad])}`));
        return;
      }
    }
    inflight++;
    inflightItems += items.length;
    const timeout = perInputTimeout ? Math.min(inputTimeout * items.length, MAX_TIMER_MS) : Number.POSITIVE_INFINITY;
    const packed = runner.chunksPayOff && !plan.spread ? packNumbers(items) : null;
    const sent = packed ?? items;
    const chunkFlags = packed === null ? flags : flags | TaskFlag.Packed;
    runner.runChunk(plan.spec, sent as unknown[], chunkFlags, { task: plan.task, signal: controller.signal, timeout, retries: plan.retries, stopsRunning: plan.stopsRunning, first: start }).then(
      (result) => landed(start, items, result),
      (error: unknown) => crashed(start, items, error),
    );
  }

  function landed(start: number, items: readonly unknown[], result: ChunkResult): void {
    const count = items.length;
    inflight--;
    inflightItems -= count;
    if (count > 0) {
      const sample = result.ms / count;
      perItemMs = perItemMs < 0 ? sample : perItemMs * 0.7 + sample * 0.3;
    }
    if (failure === null) {
      const argsOf = (i: number): readonly unknown[] => (plan.spread ? items[i] as unknown[] : [items[i]]);
      const errors = result.errors.map(([i, wire]) => [start + i, reviveTaskError(wire, plan.spec, { index: start + i }, argsOf(i))] as const);
      outcome(start, count, result.values, errors);
    }
    wake?.();
  }

  /** Hands a chunk's outcome to the sink; an input's error without settle fails the map (in input order when the sink asks). */
  function outcome(start: number, count: number, values: ArrayLike<unknown>, errors: ReadonlyArray<readonly [number, unknown]>): void {
    const fails = errors.length > 0 && !plan.settle;
    // Without settle a chunk stops at its first failure: the inputs before it and the failure are what it did.
    const ran = fails ? errors[0][0] - start + 1 : count;
    if (fails && sink.failsInOrder !== true) {
      fail(errors[0][1]);
      plan.progress?.add(ran, errors.length);
      return;
    }
    if (fails) held ??= { error: errors[0][1] };
    const reached = sink.deliver(start, values, errors);
    plan.progress?.add(ran, errors.length);
    if (reached) fail(reached.error);
  }

  function crashed(start: number, items: unknown[], error: unknown): void {
    const count = items.length;
    inflight--;
    inflightItems -= count;
    const unsendable = failure === null && count > 1 ? unsendableInput(error) - start : -1;
    if (unsendable >= 0 && unsendable < count) {
      // One input cannot be sent: it fails alone, and the inputs before and after it go again
      // (those after it only while their results are wanted; another such input among them fails alone in turn).
      outcome(start + unsendable, 1, [undefined], [[start + unsendable, error]]);
      if (failure === null && unsendable > 0) launch(start, items.slice(0, unsendable));
      if (failure === null && held === null && unsendable < count - 1) launch(start + unsendable + 1, items.slice(unsendable + 1));
    } else if (failure === null && count > 1 && isolates(error)) {
      // One input killed the worker (or outlived the chunk's timeout), and the chunk's results went
      // with it: each input runs again alone, so that only the one to blame fails.
      for (let i = 0; i < count; i++) launch(start + i, [items[i]]);
    } else if (failure === null) {
      // A lone input's own failure (its worker died) names it, as a task's error does.
      if (count === 1 && error instanceof ForkJoinError && !('index' in error)) error = withFacts(error, { index: start });
      if (!(error instanceof AbortError) && (plan.settle || count === 1)) {
        outcome(start, count, new Array(count), Array.from({ length: count }, (_, i) => [start + i, error] as const));
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

  /** An async input's next step, or STOPPED as soon as the map stops while waiting for it. */
  function nextAsync(): Promise<unknown> {
    const step = source.next();
    return new Promise((resolve, reject) => {
      stopPull = () => {
        abandoned = true;
        resolve(STOPPED);
      };
      // A step that settles after the stop is dropped, a rejection too.
      Promise.resolve(step).then(
        (value) => { stopPull = null; resolve(value); },
        (error: unknown) => { stopPull = null; reject(error); },
      );
      if (failure !== null) stopPull();
    });
  }

  async function pull(size: number): Promise<unknown[]> {
    const items: unknown[] = [];
    try {
      while (items.length < size) {
        const step: unknown = source.async ? await nextAsync() : source.next();
        if (step === STOPPED) break;
        if (typeof step !== 'object' || step === null) {
          throw new InvalidTypeError(`the inputs' iterator returned ${describeType(step)} from next(), not an iterator result ({ value, done })`);
        }
        if ((step as IteratorResult<unknown>).done) {
          exhausted = true;
          break;
        }
        items.push((step as IteratorResult<unknown>).value);
        if (failure !== null || held !== null) break;
      }
    } catch (error) {
      if (sink.keepsPulled !== true) throw error;
      sourceError = { error }; // the items pulled before it still run
    }
    return items;
  }

  /** Lets the input clean up; awaited unless it would wait behind an abandoned next(). */
  async function closeSource(): Promise<void> {
    try {
      const closed = Promise.resolve(source.return?.());
      if (abandoned) closed.catch(() => {});
      else await closed;
    } catch { /* the input's own cleanup failed; the map's outcome stands */ }
  }

  let listened: Promise<{ error: unknown } | null> | undefined;
  try {
    for (;;) {
      // The backlog at which the consumer will have made room for the next chunk; null when not waiting on it.
      let roomAt: number | null = null;
      while (failure === null && held === null && sourceError === null && !exhausted && !sendNoMore && inflight < window) {
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
        if (items.length > 0 && failure === null && held === null) launch(start, items);
      }
      // Every chunk landed, yet the sink never reached the failed input (or the inputs' iterator failed): fail with it.
      const stuck = (held ?? sourceError) as { error: unknown } | null;
      if (stuck !== null && inflight === 0) fail(stuck.error);
      if (failure !== null || ((exhausted || sendNoMore) && inflight === 0)) break;
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
    entry.end();
    plan.signal?.removeEventListener('abort', onAbort);
    // Also when the consumer stopped early: the bar ends its line and stops being drawn.
    listened = plan.progress?.finish().then(() => null, (error: unknown) => ({ error }));
    if (!exhausted) await closeSource();
  }
  // The map settles once its async progress listener's promises have: one that rejects fails it.
  const late = await listened;
  if (late) fail(late.error);
  if (failure !== null) throw (failure as { error: unknown }).error;
}
