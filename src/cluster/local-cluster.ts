/** Cluster.local(): engine processes (and a private redis-server) on this machine. */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { integerOption, knownKeys, objectOption } from '../options.js';
import { spawnEngine, startRedisServer, stopProcess, type RedisServer } from './local.js';
import { checkRedisUrl } from './redis.js';

export interface LocalClusterOptions {
  /**
   * Engine processes to start on this machine.
   * @default os.availableParallelism()
   */
  engines?: number;
  /**
   * Pool workers per engine.
   * @default 1
   */
  workers?: number;
  /** Engines run tasks in child processes instead of threads. @default false */
  processes?: boolean;
  /**
   * A running Redis to use; without it a private redis-server starts on a free loopback port.
   * @default a private redis-server
   */
  redis?: string;
  /**
   * Engines import task modules only from under this directory.
   * @default '/' (your own machine: any module, as a ThreadPool would)
   */
  root?: string;
  /**
   * Engines run inline functions, as a ThreadPool would.
   * @default true
   */
  allowInline?: boolean;
  /** @default 3 */
  retries?: number;
}

/** Starts the engines; the caller connects to `redis`/`cluster` and calls `stop()` when done. */
export async function startLocalEngines(options: LocalClusterOptions): Promise<{ redis: string; cluster: string; engines: number; retries: number | undefined; stop(): Promise<void> }> {
  const where = 'Cluster.local()';
  const o = objectOption(where, options) as LocalClusterOptions & Record<string, unknown>;
  knownKeys(where, o, ['engines', 'workers', 'processes', 'redis', 'root', 'allowInline', 'retries']);
  const count = o.engines === undefined ? availableParallelism() : integerOption(where, 'engines', o.engines, 1, 256);
  const workers = o.workers === undefined ? 1 : integerOption(where, 'workers', o.workers, 1, 1_024);
  if (o.redis !== undefined) checkRedisUrl(where, o.redis);
  let server: RedisServer | null = null;
  const redis = o.redis ?? (server = await startRedisServer()).url;
  const cluster = `local-${process.pid}-${randomUUID().slice(0, 8)}`;
  const children = Array.from({ length: count }, (_, i) => spawnEngine({
    redis, cluster, name: `${cluster}-${i + 1}`, workers, processes: o.processes === true,
    root: o.root ?? '/', allowInline: o.allowInline !== false, quiet: true,
  }));
  return {
    redis, cluster, engines: count, retries: o.retries,
    stop: async () => {
      await Promise.all(children.map((c) => stopProcess(c.pid ?? 0, c)));
      await server?.stop();
    },
  };
}
