/**
 * The Cluster as `import 'forkjoin'` exports it. The client itself (BullMQ, ioredis, the
 * result reader) loads on the first connect() or local(), so that a program that never
 * uses a cluster does not pay for it at start-up.
 */
import { InvalidTypeError } from '../errors.js';
import type { Cluster as ClusterClient, ClusterOptions, LocalClusterOptions } from './client.js';

let client: typeof import('./client.js') | null = null;

async function load(): Promise<typeof import('./client.js')> {
  client ??= await import('./client.js');
  return client;
}

/** An Executor whose workers are engines on many machines; see `Cluster.connect()` and `Cluster.local()`. */
// The class below is what `import 'forkjoin'` loads; a connected cluster is the client's
// own class, which this interface describes (and `instanceof Cluster` recognizes).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Cluster extends ClusterClient {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Cluster {
  /** Use Cluster.connect() or Cluster.local(). */
  protected constructor() {
    throw new InvalidTypeError('Cluster has no public constructor: use Cluster.connect({ redis }) or Cluster.local()');
  }

  /** Connects to the engines coordinated by the Redis at `redis`. */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    return (await load()).Cluster.connect(options);
  }

  /**
   * Starts engines on this machine (and a private redis-server unless `redis` is given),
   * connected and ready; close() stops them.
   */
  static async local(options?: LocalClusterOptions): Promise<Cluster> {
    return (await load()).Cluster.local(options);
  }

  /** `value instanceof Cluster` holds for a connected (or closed) cluster. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return client !== null && value instanceof client.Cluster;
  }
}
