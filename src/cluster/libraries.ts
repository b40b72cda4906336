/**
 * bullmq and ioredis, loaded on first use: `import 'forkjoin'` and every other
 * command stay fast for programs that never start or join a cluster.
 */
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import type { ClusterKeys } from './wire.js';

let bullmq: typeof BullMQ | null = null;
let ioredis: typeof IORedis | null = null;

/** Loads both libraries; every entry point into the cluster awaits it before connecting. */
export async function loadRedisLibraries(): Promise<void> {
  [bullmq, ioredis] = await Promise.all([bullmq ?? import('bullmq'), ioredis ?? import('ioredis')]);
}

export function redisLibraries(): { bullmq: typeof BullMQ; ioredis: typeof IORedis } {
  if (bullmq === null || ioredis === null) throw new Error('forkjoin: the Redis libraries were used before loadRedisLibraries() (a forkjoin bug; please report it)');
  return { bullmq, ioredis };
}

/** A queue handle for adding jobs to the cluster (the client's side of BullMQ). */
export function tasksQueue(redis: IORedis.Redis, keys: ClusterKeys, name: string): BullMQ.Queue {
  return new (redisLibraries().bullmq.Queue)(name, { connection: redis, prefix: keys.prefix, streams: { events: { maxLen: 100 } } });
}
