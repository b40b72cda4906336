/**
 * Whether Redis still holds the cluster's data. A Redis restarted without persistence (or
 * flushed) comes back empty: its queued and running jobs are gone, and nothing else tells,
 * since clients and engines reconnect as after any restart. So the cluster keeps a marker,
 * a random epoch that whichever client or engine first finds missing writes again: one that
 * finds another epoch than the last it saw knows that the data was lost in between.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { crypto } from '../builtins.js';
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { redactUrl } from './redis.js';
import { HEARTBEAT_MS } from './registry.js';
import type { ClusterKeys } from './wire.js';

/** How long a client's liveness key lasts unless refreshed: engines drop the queued jobs of a client without one. */
export const CLIENT_TTL_MS = HEARTBEAT_MS * 15;

/** The epoch that one client or engine saw last. */
export class Epoch {
  #known: string | null = null;

  /** Whether a check has read the epoch yet. */
  get seen(): boolean {
    return this.#known !== null;
  }

  /**
   * Runs `commands` and reads the epoch (writing a new one when it is missing) in one
   * transaction. Resolves to the replies of `commands`, and whether the epoch changed since
   * the last check (the first check learns it).
   */
  async check(redis: Redis, keys: ClusterKeys, commands: (m: ChainableCommander) => ChainableCommander): Promise<{ changed: boolean; replies: unknown[] }> {
    const replies = await commands(redis.multi()).set(keys.epoch, crypto().randomUUID(), 'NX').get(keys.epoch).exec();
    if (replies === null) throw new Error('Redis discarded the heartbeat\'s transaction');
    const values = replies.map(([error, value]) => {
      if (error !== null) throw error;
      return value;
    });
    const epoch = String(values.pop());
    values.pop();
    const changed = this.#known !== null && this.#known !== epoch;
    this.#known = epoch;
    return { changed, replies: values };
  }
}

/** Why Redis no longer holds a client's pending calls: it lost the cluster's data, or the client's liveness lapsed. */
export type Loss = 'lost' | 'lapsed';

/**
 * A client's heartbeat: refreshes its liveness key and checks the epoch in one transaction,
 * so that a job sent after it finds the key in place. Resolves to why the calls pending now
 * are lost, or null.
 */
export async function clientHeartbeat(redis: Redis, keys: ClusterKeys, id: string, epoch: Epoch): Promise<Loss | null> {
  const registered = epoch.seen;
  const key = keys.client(id);
  const { changed, replies } = await epoch.check(redis, keys, (m) => m.exists(key).set(key, '1', 'PX', CLIENT_TTL_MS));
  if (changed) return 'lost';
  // Engines drop the jobs they take while the key is missing.
  return registered && replies[0] === 0 ? 'lapsed' : null;
}

/** The error of a call pending at a loss (one each: a map names the input of its own). */
export function lossError(loss: Loss, label: string, url: string): ForkJoinError {
  const message = loss === 'lost'
    ? `The Redis at ${redactUrl(url)} lost the cluster's data (it restarted without persistence, or was flushed) while ${label} was pending: ` +
      'the task may or may not have run. Run it again; to keep queued tasks across a restart, run Redis with appendonly yes'
    : `This client could not refresh its liveness in the Redis at ${redactUrl(url)} for ${CLIENT_TTL_MS / 1_000} s (Redis unreachable, or ` +
      `this process's event loop blocked) while ${label} was pending: engines took the client for dead and may have dropped its queued tasks. Run it again`;
  return new ForkJoinError(ErrorCodes.REDIS_DATA_LOST, message);
}

/** Of the jobs an engine holds (id, queue), those Redis no longer holds. */
export async function vanishedJobs(redis: Redis, keys: ClusterKeys, held: ReadonlyArray<readonly [string, string]>): Promise<string[]> {
  if (held.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const [id, queue] of held) pipeline.exists(`${keys.prefix}:${queue}:${id}`);
  const replies = (await pipeline.exec()) ?? [];
  return held.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0).map(([id]) => id);
}
