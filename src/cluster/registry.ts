/**
 * Who is in the cluster: each engine refreshes a key holding its info (the heartbeat),
 * which Redis expires when the engine stops refreshing it. Expiry is Redis's clock,
 * so machines whose clocks disagree still agree on who is alive.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { isEngineInfo, type ClusterKeys, type EngineInfo } from './wire.js';

/** Heartbeat period; an engine is gone after HEARTBEAT_TTL_MS without one. */
export const HEARTBEAT_MS = 1_000;
export const HEARTBEAT_TTL_MS = 5_000;

/** Adds an engine's heartbeat to a transaction. */
export function announce(multi: ChainableCommander, keys: ClusterKeys, info: EngineInfo): ChainableCommander {
  return multi.set(keys.engine(info.name), JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS).sadd(keys.engines, info.name);
}

export async function withdraw(redis: Redis, keys: ClusterKeys, name: string): Promise<void> {
  await redis.multi().del(keys.engine(name)).srem(keys.engines, name).exec();
}

/** The live engines, sorted by name; names whose heartbeat expired are returned in `gone`. */
export async function liveEngines(redis: Redis, keys: ClusterKeys): Promise<{ live: EngineInfo[]; gone: string[] }> {
  const names = await redis.smembers(keys.engines);
  if (names.length === 0) return { live: [], gone: [] };
  const values = await redis.mget(names.map((n) => keys.engine(n)));
  const live: EngineInfo[] = [];
  const gone: string[] = [];
  names.forEach((name, i) => {
    const raw = values[i];
    let info: unknown = null;
    try { info = raw === null || raw === undefined ? null : JSON.parse(raw); } catch { info = null; }
    if (isEngineInfo(info)) live.push(info);
    else gone.push(name);
  });
  live.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { live, gone };
}

/** Forgets engines whose heartbeat expired, with their broadcast queue's keys. */
export async function prune(redis: Redis, keys: ClusterKeys, gone: readonly string[]): Promise<void> {
  for (const name of gone) {
    const removed = await redis.srem(keys.engines, name);
    if (removed === 0) continue; // another client pruned it
    await deleteByPattern(redis, `${keys.prefix}:${keys.direct(name)}:*`);
  }
}

export async function deleteByPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (found.length > 0) await redis.del(...found);
  } while (cursor !== '0');
}
