/** ThreadPool and ProcessPool: one pool core, two transports. */
import { InvalidTypeError } from '../errors.js';
import { BaseExecutor, parseCallOptions, type CallOptions } from '../executor.js';
import { jobControl, newJob, type Job } from '../job.js';
import type { ChunkRunner } from '../map.js';
import { closeOptions } from '../options.js';
import type { ExecutorStats } from '../stats.js';
import { toTaskSpec, type Task, type TaskSpec } from '../task.js';
import { PoolCore } from './core.js';
import { normalizePoolOptions, type NormalizedPoolOptions, type PoolOptions } from './options.js';
import { ProcessTransport } from './process-transport.js';
import type { ChunkResult } from './protocol.js';
import type { CallOptionsInternal } from './records.js';
import { ThreadTransport } from './thread-transport.js';
import { TaskFlag } from './protocol.js';
import { encodeSync } from '../sync/wire.js';
import type { Transport, TransportOptions } from './transport.js';
import type { ExecutorEventListener, ExecutorEventType, ObservableExecutor } from '../observe/events.js';

export type { PoolOptions } from './options.js';


/** `options` with the locks in its setup's arguments as records for the workers to revive (refused, naming them, when workers are processes). */
function withSetupLocks(options: NormalizedPoolOptions, to: 'thread' | 'process'): NormalizedPoolOptions {
  const setup = options.setup;
  if (setup === null) return options;
  const args = encodeSync(setup.args, to, (i) => `setup.args[${i}]`);
  return args === setup.args ? options : { ...options, setup: { ...setup, args, sync: true } };
}

abstract class Pool extends BaseExecutor implements ObservableExecutor {
  readonly #core: PoolCore;
  readonly #options: NormalizedPoolOptions;
  readonly #defaults: CallOptionsInternal;
  readonly #name: string;
  /** Where the workers run: a lock can go to a thread, not to a child process. */
  readonly #to: 'thread' | 'process';
  #runner: ChunkRunner | null = null;

  protected constructor(name: string, transport: (options: TransportOptions) => Transport, input: PoolOptions | undefined) {
    super();
    this.#name = name;
    this.#to = name === 'ProcessPool' ? 'process' : 'thread';
    this.#options = withSetupLocks(normalizePoolOptions(`new ${name}()`, input), this.#to);
    this.#core = new PoolCore(transport(this.#options), this.#options, name);
    this.#defaults = Object.freeze({
      watched: this.#options.timeout !== Number.POSITIVE_INFINITY,
      timeout: this.#options.timeout, retries: this.#options.retries, signal: undefined, transfer: undefined, flags: 0, onRunning: null,
    });
  }

  /** Runs `task(...args)` on a worker and resolves to its result. */
  run<A extends unknown[], R>(task: Task<A, R>, readonlyArgs: Readonly<A>, options?: CallOptions): Promise<Awaited<R>> {
    const args = readonlyArgs as readonly unknown[] as unknown[]; // only read (a frozen list works)
    let spec: TaskSpec;
    let call: CallOptionsInternal;
    let sent: unknown[];
    try {
      spec = toTaskSpec(task);
      call = options === undefined ? this.#defaults : this.#callOptions('run', options, null);
      checkArgs(`${this.#name}.run`, args);
      sent = encodeSync(args, this.#to);
    } catch (error) {
      return Promise.reject(error);
    }
    if (sent !== args) call = { ...call, flags: call.flags | TaskFlag.Sync };
    return this.#core.submitPromise(spec, sent, call) as Promise<Awaited<R>>;
  }

  /** Starts `task(...args)` and returns a Job: await it, read its state, or cancel it. */
  submit<A extends unknown[], R>(task: Task<A, R>, readonlyArgs: Readonly<A>, options?: CallOptions): Job<Awaited<R>> {
    const args = readonlyArgs as readonly unknown[] as unknown[]; // only read (a frozen list works)
    const spec = toTaskSpec(task);
    checkArgs(`${this.#name}.submit`, args);
    let cancel: (reason: unknown) => boolean = () => false;
    const job = newJob<Awaited<R>>((reason) => cancel(reason));
    const control = jobControl(job);
    let call = this.#callOptions('submit', options, control.running);
    let sent: unknown[];
    try {
      sent = encodeSync(args, this.#to);
    } catch (error) {
      control.settle(false, error); // a lock where it cannot travel: the job fails, as for any argument that cannot be sent
      return job;
    }
    if (sent !== args) call = { ...call, flags: call.flags | TaskFlag.Sync };
    const record = this.#core.submit(spec, sent, call, control.settle);
    control.accepted();
    cancel = (reason) => this.#core.cancel(record, reason);
    return job;
  }

  /** Calls `listener` with each event of `type`: taskStart, taskEnd, workerStart, workerExit. Returns the pool. */
  on<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this {
    this.#core.observer.events.add(`${this.#name}.on`, type, listener);
    return this;
  }

  /** Stops calling `listener` for events of `type`. Returns the pool. */
  off<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this {
    this.#core.observer.events.remove(`${this.#name}.off`, type, listener);
    return this;
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    return this.#core.onIdle();
  }

  /** Finishes queued work (or cancels it), then stops every worker. Safe to call twice. */
  async close(options?: { cancelPending?: boolean | undefined }): Promise<void> {
    await this.#core.close(closeOptions(`${this.#name}.close`, options));
  }

  /** Stops every worker now; pending tasks reject with FJ_EXECUTOR_TERMINATED. */
  async terminate(): Promise<void> {
    await this.#core.terminate();
  }

  stats(): ExecutorStats {
    return this.#core.stats();
  }

  protected chunkRunner(): ChunkRunner {
    const core = this.#core;
    const defaults = this.#options;
    const to = this.#to;
    this.#runner ??= {
      parallelism: defaults.workers * defaults.concurrentTasksPerWorker,
      chunksPayOff: true,
      defaultTimeout: defaults.timeout,
      openMap: (onClosing) => core.openMap(onClosing),
      runChunk: (spec: TaskSpec, items: unknown[], flags: number, chunk) =>
        new Promise<ChunkResult>((resolve, reject) => {
          const timeout = chunk.timeout > 0 ? chunk.timeout : defaults.timeout;
          const call: CallOptionsInternal = {
            // Only a caller's signal stops a running chunk; a failed map lets it finish unobserved.
            watched: chunk.stopsRunning || timeout !== Number.POSITIVE_INFINITY,
            timeout,
            // A chunk of several inputs is not run again whole: its map runs them again one by
            // one (each with its own retries), so an input that kills its worker is found at once.
            retries: (items as ArrayLike<unknown>).length > 1 ? 0 : chunk.retries ?? defaults.retries,
            signal: chunk.signal,
            transfer: undefined,
            flags,
            onRunning: null,
            firstInput: chunk.first,
          };
          const encoded = ArrayBuffer.isView(items) ? items : encodeSync(items, to, (i) => `inputs[${(chunk.first ?? 0) + i}]`);
          if (encoded !== items) call.flags |= TaskFlag.Sync;
          const sent = [encoded];
          const submitted = core.submit(spec, sent, call, (ok, value) => (ok ? resolve(value as ChunkResult) : reject(value)), true);
          if (chunk.handle !== undefined) chunk.handle.cancel = (reason) => { core.cancel(submitted, reason); };
        }),
    };
    return this.#runner;
  }

  #callOptions(method: string, options: CallOptions | undefined, onRunning: (() => void) | null): CallOptionsInternal {
    if (options === undefined && onRunning === null) return this.#defaults;
    const { timeout, retries, signal, transfer } = parseCallOptions(`${this.#name}.${method}`, options, this.#options);
    return {
      watched: signal !== undefined || timeout !== Number.POSITIVE_INFINITY || onRunning !== null,
      timeout,
      retries,
      signal,
      transfer,
      flags: 0,
      onRunning,
    };
  }
}

function checkArgs(where: string, args: unknown): void {
  if (!Array.isArray(args)) {
    throw new InvalidTypeError(`${where}: args must be an array of the task's arguments (e.g. [3]); received ${args === null ? 'null' : typeof args}`);
  }
}

/** Runs tasks on worker threads: for CPU-bound JavaScript. (`SetupArgs` only checks the `setup` option's args.) */
export class ThreadPool<SetupArgs extends unknown[] = any[]> extends Pool {
  constructor(options?: PoolOptions<SetupArgs>) {
    super('ThreadPool', (o) => new ThreadTransport(o), options);
  }
}

/** Runs tasks in child processes: for isolation, separate heaps and native code. (`SetupArgs` only checks the `setup` option's args.) */
export class ProcessPool<SetupArgs extends unknown[] = any[]> extends Pool {
  constructor(options?: PoolOptions<SetupArgs>) {
    super('ProcessPool', (o) => new ProcessTransport(o), options);
  }
}
