/** How a cluster client withdraws a job it added: out of its queue if no engine took it, else marked for the engine holding it. */
import type { Redis } from 'ioredis';
import type { ClientQueues } from './libraries.js';
import type { ClusterKeys } from './wire.js';

/** How long a job's cancel mark lasts: long enough for an engine that holds the job, or takes it again, to see it. */
const CANCEL_MARK_MS = 10 * 60_000;


/**
 * Removes job `id` from `queue` unless an engine took it; one taken is marked for the engine
 * holding it, which within its heartbeat stops it (`stop`), or else drops it if its pool has
 * not begun it and lets it finish, unobserved, if it has.
 */
export function withdrawJob(redis: Redis, queues: ClientQueues, keys: ClusterKeys, queue: string, id: string, stop: boolean): void {
  const mark = (): void => { redis.set(stop ? keys.cancel(id) : keys.drop(id), '1', 'PX', CANCEL_MARK_MS).catch(() => {}); };
  queues.get(queue).remove(id).then((removed) => { if (removed !== 1) mark(); }, mark);
}
