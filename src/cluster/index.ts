/**
 * The Cluster as `import 'forkjoin'` exports it. The client itself (BullMQ, ioredis, the
 * result reader) loads on the first connect() or local(), so that a program that never
 * uses a cluster does not pay for it at start-up.
 */
import type { Cluster as ClusterClient, ClusterOptions, LocalClusterOptions } from './client.js';

/** An Executor whose workers are engines on many machines; see `Cluster.connect()` and `Cluster.local()`. */
export type Cluster = ClusterClient;

let client: typeof import('./client.js') | null = null;

async function load(): Promise<typeof import('./client.js')> {
  client ??= await import('./client.js');
  return client;
}

export const Cluster = Object.freeze({
  /** Connects to the engines coordinated by the Redis at `redis`. */
  async connect(options: ClusterOptions): Promise<Cluster> {
    return (await load()).Cluster.connect(options);
  },
  /**
   * Starts engines on this machine (and a private redis-server unless `redis` is given),
   * connected and ready; close() stops them.
   */
  async local(options?: LocalClusterOptions): Promise<Cluster> {
    return (await load()).Cluster.local(options);
  },
  /** `value instanceof Cluster` holds for a connected (or closed) cluster. */
  [Symbol.hasInstance](value: unknown): value is Cluster {
    return client !== null && value instanceof client.Cluster;
  },
});
