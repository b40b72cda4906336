/** How a cluster client withdraws a job it added: out of its queue if no engine took it, else marked for the engine holding it. */
import type { Redis } from 'ioredis';
import type { ClientQueues } from './libraries.js';
import type { ClusterKeys } from './wire.js';

/** How long a job's cancel mark lasts: long enough for an engine that holds the job, or takes it again, to see it. */
const CANCEL_MARK_MS = 10 * 60_000;

/**
 * Removes job `id` from `queue` unless an engine took it; one taken is marked, when `stop`,
 * so that the engine holding it stops it within its heartbeat. Failures are left to the mark's absence.
 */
export function withdrawJob(redis: Redis, queues: ClientQueues, keys: ClusterKeys, queue: string, id: string, stop: boolean): void {
  const mark = (): void => { redis.set(keys.cancel(id), '1', 'PX', CANCEL_MARK_MS).catch(() => {}); };
  queues.get(queue).remove(id).then((removed) => { if (stop && removed !== 1) mark(); }, () => { if (stop) mark(); });
}
