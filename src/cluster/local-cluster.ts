/** Cluster.local(): engine processes (and a private redis-server) on this machine. */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { booleanOption, execArgvOption, integerOption, knownKeys, objectOption } from '../options.js';
import { inheritableExecArgv } from '../pool/transport.js';
import { checkRoot, MAX_LOCAL_ENGINES, spawnEngine, startRedisServer, stopProcess, type RedisServer } from './local.js';
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { checkRedisUrl, connectReady, redactUrl } from './redis.js';

export interface LocalClusterOptions {
  /**
   * Engine processes to start on this machine, from 1 to 256.
   * @default os.availableParallelism() (at most 256)
   */
  engines?: number | undefined;
  /**
   * Pool workers per engine.
   * @default 1
   */
  workers?: number | undefined;
  /** Engines run tasks in child processes instead of threads. @default false */
  processes?: boolean | undefined;
  /**
   * A running Redis to use; without it a private redis-server starts on a free loopback port.
   * @default a private redis-server
   */
  redis?: string | undefined;
  /**
   * Engines import task modules only from under this directory, which must exist.
   * @default '/' (your own machine: any module, as a ThreadPool would)
   */
  root?: string | undefined;
  /**
   * Engines run inline functions, as a ThreadPool would.
   * @default true
   */
  allowInline?: boolean | undefined;
  /** @default 3 */
  retries?: number | undefined;
  /**
   * Node flags of the engine processes (and so of their workers).
   * @default process.execArgv without --inspect flags (so a TypeScript loader such as tsx is inherited)
   */
  execArgv?: readonly string[] | undefined;
}

/**
 * Fails as Cluster.connect() does (FJ_REDIS_UNAVAILABLE after its default 10 s) before any
 * engine starts: engines that cannot reach Redis would otherwise be waited for in vain.
 */
async function checkReachable(redis: string): Promise<void> {
  (await connectReady(redis)).disconnect();
}

/** Engines started by Cluster.local(): `failure` rejects if one exits before `started()` is called. */
export interface LocalEngines {
  redis: string;
  cluster: string;
  engines: number;
  retries: number | undefined;
  failure: Promise<never>;
  started(): void;
  stop(): Promise<void>;
}

/** Starts the engines; the caller connects to `redis`/`cluster` and calls `stop()` when done. */
export async function startLocalEngines(options: LocalClusterOptions): Promise<LocalEngines> {
  const where = 'Cluster.local()';
  const o = objectOption(where, options) as LocalClusterOptions & Record<string, unknown>;
  knownKeys(where, o, ['engines', 'workers', 'processes', 'redis', 'root', 'allowInline', 'retries', 'execArgv']);
  const count = o.engines === undefined ? Math.min(availableParallelism(), MAX_LOCAL_ENGINES) : integerOption(where, 'engines', o.engines, 1, MAX_LOCAL_ENGINES);
  const workers = o.workers === undefined ? 1 : integerOption(where, 'workers', o.workers, 1, 1_024);
  const processes = o.processes === undefined ? false : booleanOption(where, 'processes', o.processes);
  const allowInline = o.allowInline === undefined ? true : booleanOption(where, 'allowInline', o.allowInline);
  const root = checkRoot(where, 'the "root" option', o.root ?? '/');
  const execArgv = o.execArgv === undefined ? inheritableExecArgv(process.execArgv) : execArgvOption(where, o.execArgv);
  if (o.redis !== undefined) await checkReachable(checkRedisUrl(where, o.redis));
  let server: RedisServer | null = null;
  const redis = o.redis ?? (server = await startRedisServer()).url;
  const cluster = `local-${process.pid}-${randomUUID().slice(0, 8)}`;
  // Engines exit with this process, however it ends; the first also stops the private redis-server.
  const children = Array.from({ length: count }, (_, i) => spawnEngine({
    redis, cluster, name: `${cluster}-${i + 1}`, workers, processes, root, allowInline, execArgv, quiet: true,
    withCaller: { redisDir: i === 0 && server !== null ? server.dir : null },
  }));
  // A process that exits without close() (process.exit, an uncaught exception) stops them at once.
  const onExit = (): void => {
    for (const child of children) child.kill('SIGKILL');
    if (server !== null) server.kill();
  };
  process.on('exit', onExit);
  // An engine that exits before the cluster is ready fails Cluster.local() at once, not after its 60 s wait.
  let starting = true;
  let fail: (error: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => { fail = reject; });
  failure.catch(() => { /* raced by Cluster.local(); unobserved once it is ready */ });
  for (const child of children) {
    child.once('exit', (code, signal) => {
      if (!starting) return;
      fail(new ForkJoinError(ErrorCodes.ENGINE_LOST, `${where}: an engine exited while starting (${signal ?? `exit code ${code}`}); ` +
        `run \`forkjoin engine --redis ${redactUrl(redis)}\` yourself to see its error`));
    });
  }
  return {
    redis, cluster, engines: count, retries: o.retries, failure,
    started: () => { starting = false; },
    stop: async () => {
      starting = false;
      process.off('exit', onExit);
      await Promise.all(children.map((c) => stopProcess(c.pid ?? 0, c)));
      await server?.stop();
    },
  };
}
