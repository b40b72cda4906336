/**
 * bullmq and ioredis, loaded on first use: `import 'forkjoin'` and every other
 * command stay fast for programs that never start or join a cluster.
 */
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import { importModule } from '../host.js';
import type { ClusterKeys } from './wire.js';

let bullmq: typeof BullMQ | null = null;
let ioredis: typeof IORedis | null = null;

/** Loads both libraries; every entry point into the cluster awaits it before connecting. */
export async function loadRedisLibraries(): Promise<void> {
  [bullmq, ioredis] = await Promise.all([bullmq ?? (importModule('bullmq') as Promise<typeof BullMQ>), ioredis ?? (importModule('ioredis') as Promise<typeof IORedis>)]);
}

export function redisLibraries(): { bullmq: typeof BullMQ; ioredis: typeof IORedis } {
  if (bullmq === null || ioredis === null) throw new Error('forkjoin: the Redis libraries were used before loadRedisLibraries() (a forkjoin bug; please report it)');
  return { bullmq, ioredis };
}

/**
 * The queues a client adds jobs to (the client's side of BullMQ): the shared one and each
 * engine's own (broadcast), each made when first used, so that a client refused at connect
 * writes nothing to Redis.
 */
export class ClientQueues {
  readonly #redis: IORedis.Redis;
  readonly #keys: ClusterKeys;
  readonly #queues = new Map<string, BullMQ.Queue>();

  constructor(redis: IORedis.Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  get(name: string): BullMQ.Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new (redisLibraries().bullmq.Queue)(name, { connection: this.#redis, prefix: this.#keys.prefix, streams: { events: { maxLen: 100 } } });
      // Errors repeat while Redis is away; an add that fails rejects its calls instead.
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  close(): Promise<unknown> {
    return Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
  }
}
