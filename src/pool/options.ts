/** ThreadPool and ProcessPool options: documented, defaulted in one place, validated once. */
import { availableParallelism } from 'node:os';
import { InvalidTypeError } from '../errors.js';
import { durationOption, execArgvOption, integerOption, knownKeys, objectOption } from '../options.js';
import { describeType, isTaskRef, toTaskSpec, type Task, type TaskSpec } from '../task.js';

/** `SetupArgs`: the arguments of `setup`'s task, inferred from it, so that `args` is checked against them. */
export interface PoolOptions<SetupArgs extends unknown[] = any[]> {
  /**
   * Most workers alive at once.
   * @default os.availableParallelism()
   * @example new ThreadPool({ workers: 4 })
   */
  workers?: number | undefined;
  /**
   * Workers kept alive even when idle (started on demand, never retired for idleness).
   * @default 0
   * @example new ThreadPool({ minWorkers: 2 })
   */
  minWorkers?: number | undefined;
  /**
   * Milliseconds an idle worker above `minWorkers` lives before it is stopped.
   * @default 30_000
   * @example new ThreadPool({ idleTimeout: 5_000 })
   */
  idleTimeout?: number | undefined;
  /**
   * Tasks (or map chunks) a worker runs before it is replaced by a fresh one, to contain leaks.
   * @default Infinity
   * @example new ProcessPool({ maxTasksPerWorker: 100 })
   */
  maxTasksPerWorker?: number | undefined;
  /**
   * Tasks allowed to wait for a worker; one more is rejected with FJ_QUEUE_FULL.
   * @default Infinity
   * @example new ThreadPool({ maxQueue: 1_000 })
   */
  maxQueue?: number | undefined;
  /**
   * Default time limit of each task in milliseconds, from when it starts running.
   * @default Infinity
   * @example new ThreadPool({ timeout: 10_000 })
   */
  timeout?: number | undefined;
  /**
   * Heap limit of each worker in MiB; a worker that reaches it is replaced and its task fails with FJ_WORKER_OUT_OF_MEMORY.
   * @default undefined (Node's own limit)
   * @example new ProcessPool({ maxHeapMb: 512 })
   */
  maxHeapMb?: number | undefined;
  /**
   * Async tasks one worker runs at once.
   * @default 1
   * @example new ThreadPool({ concurrentTasksPerWorker: 16 })
   */
  concurrentTasksPerWorker?: number | undefined;
  /**
   * Environment of each worker.
   * @default process.env
   * @example new ProcessPool({ env: { ...process.env, LOG_LEVEL: 'debug' } })
   */
  env?: Record<string, string | undefined> | undefined;
  /**
   * Node flags of each worker.
   * @default process.execArgv without --inspect flags (so a TypeScript loader such as tsx is inherited)
   * @example new ProcessPool({ execArgv: ['--enable-source-maps'] })
   */
  execArgv?: readonly string[] | undefined;
  /**
   * A task run once in each new worker before any other, like multiprocessing's initializer.
   * Its `timeout` (ms) bounds it; without one, the pool's `timeout` does. `args` are the task's
   * arguments, left out only when it takes none.
   * @default undefined
   * @example new ThreadPool({ setup: tasks.loadModel }) or { setup: { task: tasks.load, args: ['v2'], timeout: 60_000 } }
   */
  setup?:
    | Task<[], unknown>
    | ({ task: Task<SetupArgs, unknown>; timeout?: number | undefined } & ([] extends SetupArgs ? { args?: Readonly<SetupArgs> | undefined } : { args: Readonly<SetupArgs> }))
    | undefined;
  /**
   * Times a task is run again after its worker crashed, ran out of memory or outlived its timeout.
   * @default 0
   * @example new ProcessPool({ retries: 2 })
   */
  retries?: number | undefined;
}

export interface NormalizedPoolOptions {
  workers: number;
  minWorkers: number;
  idleTimeout: number;
  maxTasksPerWorker: number;
  maxQueue: number;
  timeout: number;
  maxHeapMb: number | undefined;
  concurrentTasksPerWorker: number;
  env: Record<string, string | undefined> | undefined;
  execArgv: string[] | undefined;
  /** `timeout`: what bounds the setup (its own, or the pool's). */
  setup: { spec: TaskSpec; args: unknown[]; timeout: number; sync?: boolean } | null;
  retries: number;
}

export const poolDefaults = Object.freeze({
  minWorkers: 0,
  idleTimeout: 30_000,
  maxTasksPerWorker: Number.POSITIVE_INFINITY,
  maxQueue: Number.POSITIVE_INFINITY,
  timeout: Number.POSITIVE_INFINITY,
  concurrentTasksPerWorker: 1,
  retries: 0,
});

const known = [
  'workers', 'minWorkers', 'idleTimeout', 'maxTasksPerWorker', 'maxQueue', 'timeout', 'maxHeapMb',
  'concurrentTasksPerWorker', 'env', 'execArgv', 'setup', 'retries',
] as const;

export function normalizePoolOptions(where: string, input: unknown): NormalizedPoolOptions {
  const o = objectOption(where, input) as PoolOptions & Record<string, unknown>;
  knownKeys(where, o, known);
  const workers = o.workers === undefined ? availableParallelism() : integerOption(where, 'workers', o.workers, 1, 4096);
  const minWorkers = o.minWorkers === undefined ? poolDefaults.minWorkers : integerOption(where, 'minWorkers', o.minWorkers, 0, workers);
  const timeout = o.timeout === undefined ? poolDefaults.timeout : durationOption(where, 'timeout', o.timeout);
  return {
    workers,
    minWorkers,
    idleTimeout: o.idleTimeout === undefined ? poolDefaults.idleTimeout : durationOption(where, 'idleTimeout', o.idleTimeout),
    maxTasksPerWorker: o.maxTasksPerWorker === undefined ? poolDefaults.maxTasksPerWorker : integerOption(where, 'maxTasksPerWorker', o.maxTasksPerWorker, 1),
    maxQueue: o.maxQueue === undefined ? poolDefaults.maxQueue : integerOption(where, 'maxQueue', o.maxQueue, 0),
    timeout,
    maxHeapMb: o.maxHeapMb === undefined ? undefined : integerOption(where, 'maxHeapMb', o.maxHeapMb, 16, 1 << 20),
    concurrentTasksPerWorker: o.concurrentTasksPerWorker === undefined
      ? poolDefaults.concurrentTasksPerWorker
      : integerOption(where, 'concurrentTasksPerWorker', o.concurrentTasksPerWorker, 1, 65_536),
    env: o.env === undefined ? undefined : envOption(where, o.env),
    execArgv: o.execArgv === undefined ? undefined : execArgvOption(where, o.execArgv),
    setup: o.setup === undefined ? null : setupOption(where, o.setup, timeout),
    retries: o.retries === undefined ? poolDefaults.retries : integerOption(where, 'retries', o.retries, 0, 1_000),
  };
}

function envOption(where: string, env: unknown): Record<string, string | undefined> {
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw new InvalidTypeError(`${where}: the "env" option must be an object of strings; received ${describeType(env)}`);
  }
  let key = '';
  try {
    for (key of Object.keys(env)) {
      const value: unknown = (env as Record<string, unknown>)[key];
      if (value !== undefined && typeof value !== 'string') {
        throw new InvalidTypeError(`${where}: the "env" option must hold strings; env.${key} is ${describeType(value)}`);
      }
    }
  } catch (error) {
    if (error instanceof InvalidTypeError) throw error;
    // A getter (or a proxy) that throws: the option cannot be read, so the workers' environment cannot be made.
    const what = key === '' ? 'its keys' : `env.${key}`;
    throw new InvalidTypeError(`${where}: the "env" option must be an object of strings; reading ${what} threw: ${error instanceof Error ? error.message : describeType(error)}`, { cause: error });
  }
  return env as Record<string, string | undefined>;
}

/** `fallback`: the pool's `timeout`, which bounds a setup that has no timeout of its own. */
function setupOption(where: string, setup: unknown, fallback: number): { spec: TaskSpec; args: unknown[]; timeout: number } {
  if (typeof setup === 'function' || isTaskRef(setup)) return { spec: toTaskSpec(setup), args: [], timeout: fallback };
  const s = setup as { task?: unknown; args?: unknown; timeout?: unknown } | null;
  if (typeof s === 'object' && s !== null && s.task !== undefined && (s.args === undefined || Array.isArray(s.args))) {
    knownKeys(`${where}: setup`, s as Record<string, unknown>, ['task', 'args', 'timeout']);
    if (typeof s.task !== 'function' && !isTaskRef(s.task)) {
      throw new InvalidTypeError(`${where}: the "setup" option's task must be a function or a task reference from taskModule(); received ${describeType(s.task)}`);
    }
    return {
      spec: toTaskSpec(s.task),
      args: (s.args as unknown[] | undefined) ?? [],
      timeout: s.timeout === undefined ? fallback : durationOption(where, 'setup.timeout', s.timeout),
    };
  }
  throw new InvalidTypeError(`${where}: the "setup" option must be a task, or { task, args, timeout }; received ${describeType(setup)}`);
}
