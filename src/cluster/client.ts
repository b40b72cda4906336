/**
 * Cluster: an Executor whose workers are engines on many machines, coordinated through
 * Redis with BullMQ. A task (or a map chunk) is one BullMQ job; its result comes back on
 * the client's own result list, and the client keeps the first result of each job, so an
 * engine lost mid-task (its job re-run elsewhere) still yields exactly one result.
 */
import { nowMs } from '../clock.js';
import type { Redis } from 'ioredis';
import { crypto } from '../builtins.js';
import { AbortError, ErrorCodes, ForkJoinError, InvalidTypeError } from '../errors.js';
import { BaseExecutor, parseCallOptions, type CallOptions } from '../executor.js';
import { jobControl, newJob, type Job } from '../job.js';
import { OpenMaps } from '../idle.js';
import type { ChunkRunner } from '../map.js';
import { closeOptions } from '../options.js';
import { abortError, closedError, terminatedError } from '../pool/faults.js';
import type { ChunkResult } from '../pool/protocol.js';
import { TaskFlag } from '../pool/protocol.js';
import { kSoftAbort, SignalRegistry } from '../pool/signals.js';
import type { ExecutorStats } from '../stats.js';
import { toTaskSpec, type Task, type TaskSpec } from '../task.js';
import { ClientQueues, loadRedisLibraries } from './libraries.js';
import { ClientTally } from './client-stats.js';
import type { LocalClusterOptions } from './local-cluster.js';
import { evictionWarning, openRedis, queueError, ready, type RedisTls } from './redis.js';
import { HEARTBEAT_MS, liveEngines, prune } from './registry.js';
import { clientHeartbeat, Epoch, lossError } from './epoch.js';
import { normalizeConnectOptions, type BroadcastResult, type ClusterOptions } from './options.js';
import { isUnsent, outcomeOf, tagWire, within } from './outcome.js';
import { PendingCalls, type Pending } from './pending.js';
import { UnsentJobs, type QueuedAdd } from './adds.js';
import { readResults } from './results.js';
import { withdrawJob } from './withdraw.js';
import { clusterKeys, encodeJob, type ClusterKeys, type EngineInfo, type JobData, type ResultMessage } from './wire.js';

export type { LocalClusterOptions } from './local-cluster.js';
export type { BroadcastResult, ClusterOptions } from './options.js';

/** Runs tasks on a cluster's engines; see `Cluster.connect()` and `Cluster.local()`. */
export class Cluster extends BaseExecutor {
  readonly #id = crypto().randomUUID().replaceAll('-', '');
  readonly #url: string;
  readonly #keys: ClusterKeys;
  readonly #redis: Redis;
  readonly #reader: Redis;
  readonly #queues: ClientQueues;
  readonly #pending = new PendingCalls();
  /** The cluster's epoch as this client last saw it: a new one means Redis lost the pending jobs. */
  readonly #epoch = new Epoch();
  readonly #retries: number;
  readonly #timeout: number;
  readonly #tally = new ClientTally();
  readonly #adds = new UnsentJobs((queue, adds) => this.#addBulk(queue, adds));
  /** One abort listener per signal, however many calls share it. */
  readonly #signals = new SignalRegistry<string>((id, reason) => this.#withdraw(id, new AbortError('The task was aborted', { cause: reason })));
  // A failed map, or an imap left, withdraws its chunks softly: those an engine holds finish, unobserved.
  readonly #mapSignals = new SignalRegistry<string>((id, reason) => this.#withdraw(id, new AbortError('The map was aborted', { cause: reason }), reason !== kSoftAbort));
  #seq = 0;
  #engines: EngineInfo[] = [];
  readonly #maps = new OpenMaps();
  #closing = false;
  #terminated = false;
  #closed: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> = Promise.resolve();
  #idle: Array<() => void> = [];
  #onClose: Array<() => Promise<void>> = [];
  #runner: ChunkRunner | null = null;

  private constructor(o: Required<Pick<ClusterOptions, 'redis' | 'cluster' | 'retries' | 'timeout'>> & { tls?: RedisTls }) {
    super();
    this.#url = o.redis;
    this.#keys = clusterKeys(o.cluster);
    this.#retries = o.retries;
    this.#timeout = o.timeout;
    this.#redis = openRedis(o.redis, o.tls);
    this.#reader = openRedis(o.redis, o.tls);
    this.#queues = new ClientQueues(this.#redis, this.#keys);
  }

  /** Connects to the engines coordinated by the Redis at `redis`. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    await loadRedisLibraries();
    const { redis, cluster, retries, timeout, minEngines, wait, tls } = normalizeConnectOptions('Cluster.connect()', options);
    const client = new this({ redis, cluster, retries, timeout, tls });
    try {
      await client.#start(minEngines, wait);
    } catch (error) {
      await client.terminate();
      throw error;
    }
    return client;
  }

  /**
   * Starts engines on this machine (and a private redis-server unless `redis` is given),
   * connected and ready; close() stops them.
   */
  static async local(options: LocalClusterOptions = {}): Promise<Cluster> {
    await loadRedisLibraries();
    // Loaded here: starting processes and servers is not needed to import forkjoin.
    const { startLocalEngines } = await import('./local-cluster.js');
    const local = await startLocalEngines(options);
    const o = normalizeConnectOptions('Cluster.local()', { redis: local.redis, cluster: local.cluster, minEngines: local.engines, connectTimeout: 60_000, retries: local.retries });
    const client = new this(o);
    // Waiting for the engines ends early when one of them exits while starting.
    const starting = client.#start(o.minEngines, o.wait);
    starting.catch(() => { /* reported through the race below */ });
    try {
      await Promise.race([starting, local.failure]);
      local.started();
      client.onClose(local.stop);
      return client;
    } catch (error) {
      await client.terminate();
      await local.stop();
      throw error;
    }
  }

  async #start(minEngines: number, wait: number): Promise<void> {
    const deadline = Date.now() + wait;
    await Promise.all([ready(this.#redis, this.#url, wait), ready(this.#reader, this.#url, wait)]);
    const warning = await evictionWarning(this.#redis, this.#url);
    if (warning !== null) process.emitWarning(warning, { code: 'FORKJOIN_REDIS_EVICTION' });
    await this.#tick();
    this.#timer = setInterval(() => { this.#tick().catch(() => {}); }, HEARTBEAT_MS);
    this.#timer.unref();
    this.#reading = readResults(this.#reader, this.#keys.results(this.#id), () => !this.#closing, (m) => this.#deliver(m), () => this.#checkIdle());
    while (this.#engines.length < minEngines) {
      if (this.#closing) throw closedError('cluster', false);
      if (Date.now() > deadline) {
        throw new ForkJoinError(ErrorCodes.ENGINE_LOST, `Cluster.connect(): ${this.#engines.length} engine(s) live after ${wait} ms, fewer than minEngines ${minEngines}; start engines with \`forkjoin engine --redis URL\``);
      }
      await new Promise((r) => setTimeout(r, 100));
      await this.#tick();
    }
  }

  /** @internal Runs `stop` when the cluster closes (Cluster.local's engines and redis-server). */
  onClose(stop: () => Promise<void>): void {
    this.#onClose.push(stop);
  }

  /**
   * Refreshes liveness and the engine list; fails every pending call when Redis lost their
   * jobs (see clientHeartbeat), and broadcast jobs whose engine left.
   */
  async #tick(): Promise<void> {
    const loss = await clientHeartbeat(this.#redis, this.#keys, this.#id, this.#epoch);
    if (loss !== null) this.#rejectAll((p) => lossError(loss, p.spec.label, this.#url));
    const { live, gone } = await liveEngines(this.#redis, this.#keys);
    this.#engines = live;
    if (gone.length > 0) await prune(this.#redis, this.#keys, gone);
    const names = new Set(live.map((e) => e.name));
    this.#pending.fail((p) => p.engine === null || names.has(p.engine) ? null
      : new ForkJoinError(ErrorCodes.ENGINE_LOST, `The engine ${p.engine} left the cluster before finishing ${p.spec.label} (it may have started it); broadcast again to the engines that remain`, { engine: p.engine }));
  }

  /** Settles a call with its result; a result for a job already settled (a re-run) is dropped. */
  #deliver(message: ResultMessage): void {
    this.#pending.take(message.id)?.settle(message);
  }

  #checkIdle(): void {
    if (this.#pending.size === 0 && this.#adds.size === 0 && this.#maps.size === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }

  /** Queues a job; the calls of one turn are added together (see UnsentJobs). */
  #enqueue(queue: string, spec: TaskSpec, items: unknown, flags: number, timeout: number, retries: number, pending: Pending, first?: number): string {
    if (this.#closing) throw closedError('cluster', false);
    // Encoded first: arguments that cannot be encoded throw before anything waits for a result
    // (a failure of the call, as on the pools).
    let data: JobData;
    try {
      data = encodeJob(this.#id, spec, items, flags, Number.isFinite(timeout) ? timeout : 0, retries, first);
    } catch (error) {
      this.#tally.settled(flags, items, false, error, pending.submitted);
      throw error;
    }
    const id = `${this.#id}-${++this.#seq}`;
    this.#pending.add(id, pending);
    this.#adds.push({ queue, id, name: spec.name, data });
    return id;
  }

  /** Adds one queue's jobs in one addBulk; if Redis refuses them, their calls fail. */
  #addBulk(name: string, list: QueuedAdd[]): void {
    const jobs = list.map((a) => ({ name: a.name, data: a.data, opts: { jobId: a.id, removeOnComplete: true, removeOnFail: true } }));
    this.#queues.get(name).addBulk(jobs).catch((error: unknown) => {
      for (const a of list) {
        const p = this.#pending.take(a.id);
        p?.settle(null, queueError(p.spec.label, error, this.#url));
      }
    });
  }

  /**
   * Withdraws a job (a cancel): one no engine took is removed; one an engine holds is stopped
   * there within its heartbeat (`stop`), or else finishes unobserved.
   */
  #withdraw(id: string, reason: unknown, stop = true): boolean {
    const p = this.#pending.take(id);
    if (p === undefined) return false;
    // Not sent yet: it never will be. Already added: removed from its queue unless taken; if
    // taken, marked, so that the engine holding it stops it (its worker replaced, as a pool's would be).
    if (!this.#adds.withdraw(id)) withdrawJob(this.#redis, this.#queues, this.#keys, p.engine === null ? this.#keys.tasks : this.#keys.direct(p.engine), id, stop);
    p.settle(null, abortError(reason));
    this.#checkIdle();
    return true;
  }

  #callOptions(where: string, options: CallOptions | undefined): { timeout: number; retries: number; signal: AbortSignal | undefined } {
    if (options === undefined) return { timeout: this.#timeout, retries: this.#retries, signal: undefined };
    return parseCallOptions(where, options, { timeout: this.#timeout, retries: this.#retries });
  }

  /** Sends one call; `done` receives the value or the error as the pools would give it. */
  #call(where: string, task: Task, args: unknown, options: CallOptions | undefined, done: (ok: boolean, value: unknown) => void, queue = this.#keys.tasks, engine: string | null = null): string {
    const spec = toTaskSpec(task);
    if (!Array.isArray(args)) throw new InvalidTypeError(`${where}: args must be an array of the task's arguments (e.g. [3]); received ${args === null ? 'null' : typeof args}`);
    const o = this.#callOptions(where, options);
    if (this.#closed !== null) throw this.#terminated ? terminatedError('cluster', true) : closedError('cluster', false);
    if (o.signal?.aborted) throw new AbortError('The task was aborted', { cause: o.signal.reason });
    const submitted = nowMs();
    let id = '';
    const signal = o.signal;
    const flags = TaskFlag.Chunk | TaskFlag.Spread;
    const pending: Pending = {
      spec, engine, submitted,
      settle: (message, error) => {
        this.#signals.delete(signal, id);
        const outcome = outcomeOf(spec, message, error);
        this.#tally.settled(0, null, outcome.ok, outcome.value, submitted); // one call, not a chunk: one input
        done(outcome.ok, outcome.value);
      },
    };
    id = this.#enqueue(queue, spec, [args], flags, o.timeout, o.retries, pending);
    this.#signals.add(signal, id);
    return id;
  }

  /** Runs `task(...args)` on an engine and resolves to its result. */
  run<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Promise<Awaited<R>> {
    return new Promise((resolve, reject) => {
      this.#call('Cluster.run', task, args, options, (ok, value) => (ok ? resolve(value as Awaited<R>) : reject(value)));
    });
  }

  /** Starts `task(...args)` on an engine; cancel() withdraws it, and stops it on the engine that took it. */
  submit<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Job<Awaited<R>> {
    let id = '';
    const job = newJob<Awaited<R>>((reason) => this.#withdraw(id, reason));
    const control = jobControl(job);
    try {
      id = this.#call('Cluster.submit', task, args, options, (ok, value) => control.settle(ok, value));
      control.accepted();
    } catch (error) {
      if (!isUnsent(error)) throw error;
      control.settle(false, error);
    }
    return job;
  }

  /** Runs the task once on every live engine: one outcome per engine, in engine-name order. */
  async broadcast<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Promise<Array<BroadcastResult<Awaited<R>>>> {
    await this.#refresh();
    const engines = this.#engines.filter((e) => e.state === 'running');
    return Promise.all(engines.map((e) => new Promise<BroadcastResult<Awaited<R>>>((resolve) => {
      try {
        this.#call('Cluster.broadcast', task, args, options, (ok, value) => resolve(ok
          ? { engine: e.name, status: 'fulfilled', value: value as Awaited<R> }
          : { engine: e.name, status: 'rejected', reason: value }), this.#keys.direct(e.name), e.name);
      } catch (error) {
        resolve({ engine: e.name, status: 'rejected', reason: error });
      }
    })));
  }

  /** The live engines, fresh from Redis: name, host, pid, workers, busy, done, failed, heartbeat. */
  async engines(): Promise<EngineInfo[]> {
    await this.#refresh();
    return this.#engines.map((e) => ({ ...e }));
  }

  /** #tick() for a caller; once close() or terminate() is called, FJ_EXECUTOR_CLOSED instead. */
  async #refresh(): Promise<void> {
    if (this.#closed !== null) throw closedError('cluster', false);
    try {
      await this.#tick();
    } catch (error) {
      throw this.#closed !== null ? closedError('cluster', false) : error;
    }
  }

  /** Resolves when no task of this client is pending. */
  onIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#checkIdle();
    });
  }

  /** Waits for pending tasks (or cancels them), then disconnects. Safe to call twice. */
  async close(options?: { cancelPending?: boolean | undefined }): Promise<void> {
    const cancelPending = closeOptions('Cluster.close', options);
    if (cancelPending) {
      // The client does not learn when an engine starts a task: a pending one may be running.
      const error = new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, 'The cluster was closed with cancelPending before the task finished; an engine may have started it (the engines stop what they hold once the cluster is closed)');
      this.#rejectAll(() => error);
    }
    this.#closed ??= this.#shutdown(false);
    this.#maps.close(cancelPending);
    return this.#closed;
  }

  /** Disconnects now; pending tasks reject with FJ_EXECUTOR_TERMINATED, and engines skip them (or stop them, once this client's liveness key is gone). */
  terminate(): Promise<void> {
    const error = new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, 'The cluster was terminated while the task was pending');
    this.#terminated = true;
    this.#rejectAll(() => error);
    this.#maps.closing('terminate');
    this.#closed ??= this.#shutdown(true);
    return this.#closed;
  }

  /** Fails every pending call with the error `why` gives it; the jobs not sent yet never will be. */
  #rejectAll(why: (p: Pending) => Error): void {
    this.#adds.clear();
    this.#pending.fail(why);
    this.#checkIdle();
  }

  async #shutdown(now: boolean): Promise<void> {
    if (!now) await this.onIdle();
    this.#closing = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    // Redis may be away (or never answered): then the keys expire on their own, so wait only a moment.
    if (this.#redis.status === 'ready') await within(this.#redis.del(this.#keys.client(this.#id), this.#keys.results(this.#id)).catch(() => {}), 2_000);
    this.#reader.disconnect();
    // A command waiting while ioredis reconnects may never settle after disconnect().
    await within(this.#reading, 1_000);
    // BullMQ's close waits for Redis; when Redis is gone, stop waiting after a moment.
    await within(this.#queues.close(), 2_000);
    this.#redis.disconnect();
    for (const stop of this.#onClose.splice(0)) await stop();
  }

  stats(): ExecutorStats {
    return this.#tally.stats(this.#engines, this.#pending.size);
  }

  protected chunkRunner(): ChunkRunner {
    const self = this;
    this.#runner ??= {
      get parallelism() { return Math.max(1, self.#engines.reduce((n, e) => n + e.workers, 0)); },
      chunksPayOff: true, defaultTimeout: self.#timeout,
      openMap: (onClosing) => {
        if (self.#closed !== null) throw self.#terminated ? terminatedError('cluster', true) : closedError('cluster', false);
        const closeMap = self.#maps.open(onClosing);
        return () => { closeMap(); self.#checkIdle(); };
      },
      runChunk: (spec, items, flags, call) => new Promise<ChunkResult>((resolve, reject) => {
        const submitted = nowMs();
        let id = '';
        const pending: Pending = {
          spec, engine: null, submitted,
          settle: (message, error) => {
            self.#mapSignals.delete(call.signal, id);
            if (message !== null && 'ok' in message) {
              const result = message.ok;
              for (const [, wire] of result.errors) tagWire(wire, message);
              self.#tally.settled(flags, items, true, result, submitted);
              resolve(result);
            } else {
              const outcome = outcomeOf(spec, message, error);
              self.#tally.settled(flags, items, false, outcome.value, submitted);
              reject(outcome.value);
            }
          },
        };
        const timeout = call.timeout > 0 ? call.timeout : self.#timeout;
        id = self.#enqueue(self.#keys.tasks, spec, items, flags, timeout, call.retries ?? self.#retries, pending, call.first ?? 0);
        if (call.signal?.aborted) self.#withdraw(id, new AbortError('The map was aborted', { cause: call.signal.reason }));
        else self.#mapSignals.add(call.signal, id);
      }),
    };
    return this.#runner;
  }
}
