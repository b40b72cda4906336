/**
 * compute(): runs the graphs that end at the given nodes, on any executor,
 * with an optional cache that skips what was computed before.
 */
import { isCache, type Cache } from '../cache/cache.js';
import { InvalidTypeError } from '../errors.js';
import { isThenable } from '../transfer.js';
import type { Executor } from '../executor.js';
import { integerOption, knownKeys, objectOption, progressOption, signalOption } from '../options.js';
import { LocalExecutor } from '../local.js';
import { ThreadPool } from '../pool/pools.js';
import { Progress, type ProgressListener } from '../progress.js';
import { graphNodeOf, type Delayed, type GraphNode } from './delayed.js';
import type { GraphEventListener } from './events.js';
import { abortedError } from './error.js';
import type { Plan } from './plan.js';
import type { Scheduler } from './scheduler.js';

export interface ComputeOptions {
  /**
   * Where the tasks run. Without one, compute creates a ThreadPool and closes it when done.
   * @default a new ThreadPool()
   * @example compute(total, { executor: pool })
   */
  executor?: Executor | undefined;
  /**
   * Results of earlier runs: a node found there does not run, nor does anything it needs.
   * Every result computed is stored there.
   * @example compute(total, { cache: new DiskCache('.forkjoin-cache') })
   */
  cache?: Cache | undefined;
  /**
   * A progress bar on stderr (true; drawn only when stderr is a terminal) or a listener called as nodes finish.
   * @default false
   */
  progress?: boolean | ProgressListener | undefined;
  /** Stops the whole graph: nothing new starts, running nodes are cancelled, compute rejects with FJ_ABORTED. */
  signal?: AbortSignal | undefined;
  /**
   * Times a failed node runs again (whatever the failure: a throw, a crash, a timeout) before the graph fails.
   * @default 0
   */
  retries?: number | undefined;
  /**
   * Called for each node as it is queued, started, finished, failed, or found in the cache.
   * @example compute(total, { onEvent: (e) => console.log(e.type, e.key) })
   */
  onEvent?: GraphEventListener | undefined;
  /**
   * Most nodes handed to the executor and not yet finished.
   * @default 4096
   */
  maxInFlight?: number | undefined;
}

/** The value a Delayed stands for; anything else stays as it is. */
export type Computed<T> = T extends Delayed<infer R> ? R : T;

const optionKeys = ['executor', 'cache', 'progress', 'signal', 'retries', 'onEvent', 'maxInFlight'] as const;
const DEFAULT_MAX_IN_FLIGHT = 4096;

/**
 * Runs the graph ending at `x` (one Delayed, or a list whose other entries
 * pass through) and resolves to its value(s).
 */
export function compute<D extends Delayed>(x: D, options?: ComputeOptions): Promise<Computed<D>>;
export function compute<const T extends readonly unknown[]>(x: T, options?: ComputeOptions): Promise<{ -readonly [K in keyof T]: Computed<T[K]> }>;
export async function compute(x: unknown, options?: ComputeOptions): Promise<unknown> {
  const where = 'compute';
  const o = objectOption(where, options) as ComputeOptions & Record<string, unknown>;
  knownKeys(where, o, optionKeys);
  const executor = o.executor;
  if (executor !== undefined && (typeof executor !== 'object' || executor === null || typeof executor.run !== 'function')) {
    throw new InvalidTypeError(`${where}: the "executor" option must be an Executor (a ThreadPool, ProcessPool or LocalExecutor)`);
  }
  if (o.cache !== undefined && !isCache(o.cache)) {
    throw new InvalidTypeError(`${where}: the "cache" option must be a cache (a MemoryCache, a DiskCache, or an object with get, set, delete and clear)`);
  }
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') {
    throw new InvalidTypeError(`${where}: the "onEvent" option must be a function; received ${typeof o.onEvent}`);
  }
  if (o.progress !== undefined) progressOption(where, o.progress);
  const retries = o.retries === undefined ? 0 : integerOption(where, 'retries', o.retries, 0, 1_000);
  const maxInFlight = o.maxInFlight === undefined ? DEFAULT_MAX_IN_FLIGHT : integerOption(where, 'maxInFlight', o.maxInFlight, 1);
  const signal = signalOption(where, o.signal);

  const single = !Array.isArray(x);
  const list: readonly unknown[] = single ? [x] : (x as unknown[]);
  const rootNodes: GraphNode[] = [];
  for (let i = 0; i < list.length; i++) {
    const node = graphNodeOf(list[i]);
    if (node !== undefined) rootNodes.push(node);
    else if (single) throw new InvalidTypeError(`${where}: expected a Delayed or an array; received ${x === null ? 'null' : typeof x}`);
  }
  if (signal?.aborted) throw abortedError(signal.reason);

  let stopped = false;
  // Settles when the signal aborts: a cache lookup that never answers does not hold compute() past it.
  let onStop = (): void => {};
  const stop = new Promise<void>((resolve) => { onStop = resolve; });
  const onAbort = (): void => {
    stopped = true;
    onStop();
    scheduler?.abort(abortedError(signal?.reason));
  };
  let scheduler: Scheduler | null = null;
  signal?.addEventListener('abort', onAbort, { once: true });
  let owned: Executor | null = null;
  try {
    // The planner and scheduler load on the first compute(), not with `import 'forkjoin'`.
    const { planAll, planCached, Scheduler } = await import('./engine.js');
    const plan: Plan | null = o.cache === undefined ? planAll(rootNodes) : await planCached(rootNodes, o.cache, () => stopped, stop);
    if (stopped || plan === null) throw abortedError(signal?.reason);
    if (o.onEvent !== undefined) {
      const told: unknown[] = [];
      for (const id of plan.cached) told.push(o.onEvent({ type: 'cached', key: plan.nodes[id].key, task: plan.nodes[id].fn.spec.label }));
      // An async listener that rejects fails the computation, as one that throws does.
      await Promise.all(told.filter(isThenable));
    }
    const progress = Progress.create(o.progress, 'compute', plan.toRun + plan.cached.length);
    if (plan.cached.length > 0) progress?.add(plan.cached.length, 0);
    if (progress?.failure) throw progress.failure.thrown;
    if (plan.toRun > 0) {
      if (executor === undefined) owned = new ThreadPool();
      const runner = executor ?? (owned as Executor);
      scheduler = new Scheduler({
        executor: runner, inThread: runner instanceof LocalExecutor, cache: o.cache ?? null, retries, maxInFlight,
        onEvent: o.onEvent ?? null, progress,
      });
      try {
        await scheduler.run(plan);
      } catch (error) {
        await progress?.finish().catch(() => {}); // the graph's own error stands
        throw error;
      }
    }
    // compute settles once its async progress listener's promises have: one that rejects fails it,
    // even after the last node finished (the scheduler had nothing left to stop).
    await progress?.finish();
    if (progress?.failure) throw progress.failure.thrown;
    let next = 0;
    const values = list.map((item) => (graphNodeOf(item) === undefined ? item : plan.values[plan.roots[next++]]));
    return single ? values[0] : values;
  } catch (error) {
    if (owned !== null) {
      const pool = owned;
      owned = null;
      await pool.terminate();
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (owned !== null) await owned.close();
  }
}
