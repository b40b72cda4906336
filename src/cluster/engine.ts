/**
 * A cluster engine: pulls jobs from the cluster's BullMQ queue and runs them on its own
 * ThreadPool (or ProcessPool), pushes each result to its client's result list, and
 * announces itself with a heartbeat. Its event loop only moves jobs: the CPU work runs
 * in the pool, so BullMQ's lock renewals are never late.
 */
import { hostname } from 'node:os';
import { Worker, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ErrorCodes } from '../errors.js';
import type { ChunkRunner } from '../map.js';
import { ProcessPool, ThreadPool } from '../pool/pools.js';
import type { PoolOptions } from '../pool/options.js';
import { codedError } from '../task-loader.js';
import { ownWire } from '../wire-error.js';
import { JobCancel, runJob } from './engine-run.js';
import { Epoch, vanishedJobs } from './epoch.js';
import { EngineTasks } from './engine-tasks.js';
import { engineNameOption } from './options.js';
import { ENGINE_GRACE_MS } from './local.js';
import { evictionWarning, openRedis, ready, redactText, redactUrl, type RedisTls } from './redis.js';
import { ResultLists } from './replies.js';
import { announce, claimName, HEARTBEAT_MS, withdraw, deleteByPattern } from './registry.js';
import { within } from './outcome.js';
import { TurnBatch } from './turn-batch.js';
import { clusterKeys, isJobData, type ClusterKeys, type EngineInfo, type JobData, type ResultMessage } from './wire.js';

/** BullMQ's lock settings, shortened so a dead engine's jobs run elsewhere within seconds. */
export const LOCK_MS = 4_000;
export const STALLED_CHECK_MS = 2_000;

export interface EngineOptions {
  redis: string;
  tls?: RedisTls;
  /** Pool workers. @default os.availableParallelism() */
  workers?: number;
  /** Child processes instead of threads. @default false */
  processes?: boolean;
  /** Task modules are imported only from under this directory. @default process.cwd() */
  root?: string;
  /** @default `${hostname()}-${pid}` */
  name?: string;
  /** Run inline functions (source shipped by the client). @default false */
  allowInline?: boolean;
  /** The cluster's name: several clusters can share one Redis. @default 'default' */
  cluster?: string;
  /** Where the engine's messages go. @default stderr */
  log?: (line: string) => void;
}

class EngineThreadPool extends ThreadPool {
  runner(): ChunkRunner { return this.chunkRunner(); }
}
class EngineProcessPool extends ProcessPool {
  runner(): ChunkRunner { return this.chunkRunner(); }
}

/** How long an engine that holds no job waits for its queues to close when it stops. */
const IDLE_CLOSE_MS = 1_000;
/** How long a stopping engine waits for Redis to remove its records. */
const LEAVE_RECORDS_MS = 1_500;

interface Held { job: Job; token: string | undefined; cancel: JobCancel }

/** A running engine; `stop()` finishes (or hands back) what it holds, then leaves the cluster. */
export class Engine {
  readonly name: string;
  readonly host = hostname();
  readonly #redis: Redis;
  readonly #url: string;
  readonly #keys: ClusterKeys;
  readonly #pool: EngineThreadPool | EngineProcessPool;
  readonly #runner: ChunkRunner;
  readonly #workers: number;
  readonly #root: string;
  readonly #allowInline: boolean;
  readonly #taskInfo: EngineTasks;
  readonly #log: (line: string) => void;
  readonly #held = new Map<string, Held>();
  readonly #handedBack = new Set<string>();
  readonly #clients = new Map<string, { alive: boolean; at: number }>();
  readonly #started = Date.now();
  #shared: Worker | null = null;
  #direct: Worker | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #state: 'running' | 'stopping' = 'running';
  #done = 0;
  #failed = 0;
  #avgMs = -1;
  #stopped: Promise<void> | null = null;
  #lastError = 0;
  /** The cluster's epoch as this engine last saw it: a new one means Redis lost the cluster's data. */
  readonly #epoch = new Epoch();
  #lossPending = false;
  /** Tasks started in one turn go to the pool together (one message, not one each). */
  readonly #starts = new TurnBatch<() => void>((starts) => { for (const start of starts) start(); });
  readonly #results: ResultLists;

  private constructor(options: EngineOptions) {
    this.#url = options.redis;
    this.name = options.name === undefined ? `${this.host.replace(/[^\w.-]/g, '_')}-${process.pid}` : engineNameOption('Engine', options.name);
    this.#keys = clusterKeys(options.cluster ?? 'default');
    this.#root = options.root ?? process.cwd();
    this.#allowInline = options.allowInline === true;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#taskInfo = new EngineTasks(this.#root, this.#allowInline, this.name);
    const poolOptions: PoolOptions = { minWorkers: options.workers ?? undefined, idleTimeout: 60_000 };
    if (options.workers !== undefined) poolOptions.workers = options.workers;
    this.#pool = options.processes === true ? new EngineProcessPool(poolOptions) : new EngineThreadPool(poolOptions);
    this.#runner = this.#pool.runner();
    this.#workers = this.#runner.parallelism;
    this.#redis = openRedis(options.redis, options.tls);
    this.#results = new ResultLists(this.#redis, this.#keys, this.name, this.#log);
  }

  /** Connects, starts pulling jobs and announces the engine. */
  static async start(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    try {
      await engine.#start();
    } catch (error) {
      await engine.#pool.terminate();
      engine.#redis.disconnect();
      throw error;
    }
    return engine;
  }

  async #start(): Promise<void> {
    await ready(this.#redis, this.#url);
    const warning = await evictionWarning(this.#redis, this.#url);
    if (warning !== null) this.#log(warning);
    await claimName(this.#redis, this.#keys, this.info());
    const common = {
      connection: this.#redis,
      prefix: this.#keys.prefix,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      // Engines lost while running a job count against the job's own `retries` (see #process).
      maxStalledCount: 1_000_000,
      drainDelay: 5,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    };
    this.#shared = new Worker(this.#keys.tasks, (job, token) => this.#process(job, token), { ...common, concurrency: this.#workers + 1 });
    this.#direct = new Worker(this.#keys.direct(this.name), (job, token) => this.#process(job, token), { ...common, concurrency: 1 });
    for (const worker of [this.#shared, this.#direct]) {
      worker.on('error', (error) => this.#warn(error));
      worker.on('lockRenewalFailed', (ids) => this.#lockLost(ids));
    }
    await Promise.all([this.#shared.waitUntilReady(), this.#direct.waitUntilReady()]);
    await this.#beat();
    this.#heartbeat = setInterval(() => { this.#beat().catch((error: unknown) => this.#warn(error)); }, HEARTBEAT_MS);
    this.#log(`forkjoin engine ${this.name}: ready on ${this.host} (pid ${process.pid}, ${this.#workers} ${this.#pool instanceof EngineProcessPool ? 'process' : 'thread'} worker(s)), ` +
      `redis ${redactUrl(this.#url)}, root ${this.#root}${this.#allowInline ? ', inline functions allowed' : ''}`);
  }

  /** Announces the engine, and checks that Redis kept the cluster's data. */
  async #beat(): Promise<void> {
    const { changed } = await this.#epoch.check(this.#redis, this.#keys, (m) => announce(m, this.#keys, this.info()));
    // A loss whose jobs could not be looked up (Redis failing again) is looked at again next beat.
    if (changed) this.#lossPending = true;
    if (this.#lossPending) {
      await this.#dataLost();
      this.#lossPending = false;
    }
    await this.#stopAbandoned();
  }

  /**
   * Stops the held jobs whose callers gave up on them: cancelled (the client marked them), or of
   * a client gone; a job marked softly (its map failed, its imap was left) is dropped only if not begun.
   */
  async #stopAbandoned(): Promise<void> {
    if (this.#held.size === 0) return;
    const held = [...this.#held];
    const clients = [...new Set(held.map(([, { job }]) => (job.data as JobData).c))];
    const [marks, alive] = await Promise.all([
      this.#redis.mget(held.flatMap(([id]) => [this.#keys.cancel(id), this.#keys.drop(id)])),
      Promise.all(clients.map((client) => this.#askClientAlive(client))),
    ]);
    const gone = new Set(clients.filter((_, i) => !alive[i]));
    held.forEach(([id, { job, cancel }], i) => {
      if (this.#held.get(id)?.cancel !== cancel) return;
      if (gone.has((job.data as JobData).c) || marks[2 * i] !== null) cancel.abort();
      else if (marks[2 * i + 1] !== null) cancel.soften();
    });
  }

  /**
   * Redis lost the cluster's data (the heartbeat registered the engine again): the jobs held
   * now that vanished with it are dropped, unanswered (their clients fail them), so that
   * their tasks stop holding the pool.
   */
  async #dataLost(): Promise<void> {
    const gone = await vanishedJobs(this.#redis, this.#keys, [...this.#held].map(([id, { job }]) => [id, job.queueName] as const));
    let dropped = 0;
    for (const id of gone) {
      const held = this.#held.get(id);
      if (held === undefined) continue;
      dropped++;
      this.#handedBack.add(id); // its hand-back finds no job: nothing to complete or fail
      held.cancel.request();
    }
    this.#log(`forkjoin engine ${this.name}: Redis lost the cluster's data (it restarted without persistence, or was flushed); registered again` +
      (dropped > 0 ? `, and dropped the ${dropped} job(s) it held that vanished with it (their clients get FJ_REDIS_DATA_LOST)` : ''));
  }

  /**
   * BullMQ could not renew these jobs' locks (Redis stalled, or was out of reach, past
   * LOCK_MS): another engine may run them now, so this one stops its copies, unanswered.
   */
  #lockLost(ids: string[]): void {
    const lost = ids.filter((id) => this.#held.has(id));
    for (const id of lost) {
      this.#handedBack.add(id); // its hand-back finds the lock gone: the stalled check requeues it
      this.#held.get(id)?.cancel.request();
    }
    if (lost.length > 0) this.#log(`forkjoin engine ${this.name}: lost the lock of ${lost.length} running job(s) (Redis did not answer for ${LOCK_MS / 1_000} s); stopped them here, to run again`);
  }

  /** What the heartbeat says. */
  info(): EngineInfo {
    return {
      name: this.name, host: this.host, pid: process.pid, workers: this.#workers, busy: this.#held.size,
      done: this.#done, failed: this.#failed, replaced: this.#pool.stats().workersReplaced, started: this.#started, heartbeat: Date.now(), state: this.#state,
    };
  }

  #warn(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastError < 5_000) return; // repeats while Redis is away
    this.#lastError = now;
    const text = error instanceof Error ? error.message : String(error);
    this.#log(`forkjoin engine ${this.name}: ${redactText(text)}`);
  }

  /**
   * Whether a client is alive: known for a second once seen alive. A missing client is asked
   * again each time: after Redis lost its data, a client is missing until its next heartbeat.
   */
  #clientAlive(id: string): boolean | Promise<boolean> {
    const known = this.#clients.get(id);
    if (known !== undefined && known.alive && Date.now() - known.at < 1_000) return true;
    return this.#askClientAlive(id);
  }

  async #askClientAlive(id: string): Promise<boolean> {
    const now = Date.now();
    const alive = (await this.#redis.exists(this.#keys.client(id))) === 1;
    this.#clients.set(id, { alive, at: now });
    if (this.#clients.size > 10_000) this.#clients.clear();
    return alive;
  }

  async #process(job: Job, token: string | undefined): Promise<void> {
    const data: unknown = job.data;
    const id = job.id;
    if (id === undefined) return;
    if (!isJobData(data)) {
      // Not a job this engine can read: its client, when it names one, fails the call instead of waiting.
      const client = (data as { c?: unknown } | null)?.c;
      if (typeof client !== 'string') return;
      const error = codedError(ErrorCodes.PROTOCOL, `Engine ${this.name} cannot read this job: run the same forkjoin version on the clients and the engines`);
      await this.#results.send(client, { id, engine: this.name, host: this.host, fail: ownWire(error) });
      return;
    }
    // A client that died leaves its queued jobs: nobody would read their results.
    const alive = this.#clientAlive(data.c);
    if (!(alive === true || (alive !== false && await alive))) return;
    const stalled = job.stalledCounter;
    if (stalled > data.r) {
      this.#failed++;
      const error = codedError(ErrorCodes.ENGINE_LOST, `The engine running this task stopped ${stalled} times (retries: ${data.r}); the task may be crashing its engine`);
      await this.#results.send(data.c, { id, engine: this.name, host: this.host, fail: ownWire(error) });
      return;
    }
    const cancel = new JobCancel();
    this.#held.set(id, { job, token, cancel });
    let message: ResultMessage;
    try {
      message = await this.#run(id, data, cancel);
    } finally {
      this.#held.delete(id);
    }
    // The worker's own time: waiting in the pool's queue is not the task's length.
    if ('ok' in message) this.#tune(message.ok.ms);
    if (this.#handedBack.delete(id)) {
      // Handed back (shutdown, or held too many long jobs): another engine runs it.
      try { await job.moveToWait(token); } catch { /* already moved back */ }
      throw new WaitingError();
    }
    // A job its caller stopped waiting for is neither done nor failed, and gets no answer: a
    // caller that cancelled it settled it then, and one taken for gone (its liveness key
    // missing) that is alive after all fails it itself, on finding its key lapsed or Redis's
    // data lost. An answer could only beat that with FJ_ABORTED.
    if (cancel.aborted) return;
    if ('fail' in message || message.ok.errors.length > 0) this.#failed++;
    else this.#done++;
    await this.#results.send(data.c, message);
  }

  async #run(id: string, data: JobData, cancel: JobCancel): Promise<ResultMessage> {
    const where = { id, engine: this.name, host: this.host };
    const refused = this.#taskInfo.refusal(data);
    if (refused !== null) return { ...where, fail: ownWire(refused) };
    try {
      return { ...where, ok: await runJob(this.#runner, this.#starts, this.#taskInfo.taskOf(data), data, cancel) };
    } catch (error) {
      return { ...where, fail: ownWire(error) };
    }
  }

  /** Holds many short jobs at once (Redis round trips dominate), few long ones (they would wait). */
  #tune(ms: number): void {
    this.#avgMs = this.#avgMs < 0 ? ms : this.#avgMs * 0.8 + ms * 0.2;
    const worker = this.#shared;
    if (worker === null || this.#state !== 'running') return;
    const target = this.#avgMs < 5 ? Math.min(128, Math.max(64, this.#workers * 16)) : this.#workers + 1;
    if (worker.concurrency === target) return;
    worker.concurrency = target;
    // Long jobs fetched while they looked short would wait here while other engines idle:
    // the newest ones (still queued in the pool) go back to the queue.
    const excess = [...this.#held.entries()].slice(target);
    for (const [id, held] of excess) {
      this.#handedBack.add(id);
      held.cancel.request();
    }
  }

  /**
   * Leaves the cluster: stops taking jobs, finishes those it holds (for up to `grace` ms,
   * or until `handBack()`), hands back the rest to other engines, then stops its pool.
   */
  stop(options: { grace?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.grace ?? ENGINE_GRACE_MS);
    return this.#stopped;
  }

  #handBackNow: (() => void) | null = null;

  /** During stop(): hands back the jobs still running now instead of waiting for them. */
  handBack(): void {
    this.#handBackNow?.();
  }

  async #stop(grace: number): Promise<void> {
    this.#state = 'stopping';
    this.#log(`forkjoin engine ${this.name}: stopping; finishing ${this.#held.size} running job(s)`);
    const closing = Promise.all([this.#shared?.close(), this.#direct?.close()]);
    let timer: NodeJS.Timeout | undefined;
    const handBack = new Promise<'hand back'>((resolve) => {
      // An engine holding nothing has nothing to finish: it waits a moment for its queues to
      // close, not its whole grace (their close waits for a Redis that is gone).
      timer = setTimeout(() => resolve('hand back'), this.#held.size === 0 ? Math.min(grace, IDLE_CLOSE_MS) : grace);
      this.#handBackNow = () => resolve('hand back');
    });
    const outcome = await Promise.race([closing.then(() => 'closed' as const), handBack]);
    clearTimeout(timer);
    if (outcome === 'hand back' && this.#held.size > 0) {
      const held = [...this.#held.entries()];
      this.#log(`forkjoin engine ${this.name}: handing back ${held.length} job(s) to other engines`);
      await Promise.all(held.map(async ([id, { job, token }]) => {
        this.#handedBack.add(id);
        try { await job.moveToWait(token); } catch { /* its lock expired: the stalled check hands it back */ }
      }));
      await Promise.all([this.#shared?.close(true), this.#direct?.close(true)]);
    }
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    await this.#pool.terminate();
    // Leaving the cluster's records needs Redis: one that is gone is waited for a moment only
    // (the engine's heartbeat key expires by itself).
    const left = (async () => {
      // A name another engine took meanwhile (this one's heartbeat lapsed) is that engine's now, with its queue.
      if (await withdraw(this.#redis, this.#keys, this.info())) await deleteByPattern(this.#redis, `${this.#keys.prefix}:${this.#keys.direct(this.name)}:*`);
      await this.#redis.quit();
      return true;
    })().catch(() => false);
    if ((await within(left, LEAVE_RECORDS_MS)) !== true) this.#redis.disconnect();
    this.#log(`forkjoin engine ${this.name}: stopped (${this.#done} done, ${this.#failed} failed)`);
  }
}
