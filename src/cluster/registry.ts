/**
 * Who is in the cluster: each engine refreshes a key holding its info (the heartbeat),
 * which Redis expires when the engine stops refreshing it. Expiry is Redis's clock,
 * so machines whose clocks disagree still agree on who is alive.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { isEngineInfo, type ClusterKeys, type EngineInfo } from './wire.js';

/** Heartbeat period; an engine is gone after HEARTBEAT_TTL_MS without one. */
export const HEARTBEAT_MS = 1_000;
export const HEARTBEAT_TTL_MS = 5_000;

/** Adds an engine's heartbeat to a transaction. */
export function announce(multi: ChainableCommander, keys: ClusterKeys, info: EngineInfo): ChainableCommander {
  return multi.set(keys.engine(info.name), JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS).sadd(keys.engines, info.name);
}

/**
 * Takes an engine's name in its cluster, or fails with FJ_ENGINE_NAME_TAKEN while a live
 * engine holds it (two engines of one name would share one broadcast queue and one entry).
 * The heartbeat of an engine that died holds the name until it expires (waited out, so that
 * an engine restarted under its name starts); a live engine's changes at its next beat.
 */
export async function claimName(redis: Redis, keys: ClusterKeys, info: EngineInfo): Promise<void> {
  const key = keys.engine(info.name);
  const deadline = Date.now() + HEARTBEAT_TTL_MS + 2 * HEARTBEAT_MS;
  let seen: string | null = null;
  for (;;) {
    if ((await redis.set(key, JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS, 'NX')) === 'OK') {
      await redis.sadd(keys.engines, info.name);
      return;
    }
    const holder = await redis.get(key);
    if (holder !== null) {
      seen ??= holder;
      if (holder !== seen || Date.now() > deadline) throw nameTaken(info, holder);
    }
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS / 4));
  }
}

function nameTaken(info: EngineInfo, holder: string): ForkJoinError {
  let other: unknown = null;
  try { other = JSON.parse(holder); } catch { /* described without it */ }
  const where = isEngineInfo(other) ? ` on ${other.host} (pid ${other.pid})` : '';
  return new ForkJoinError(ErrorCodes.ENGINE_NAME_TAKEN, `The engine name ${info.name} is taken: an engine of that name is live${where} in this cluster. ` +
    'Give this engine another --name, or stop that engine first');
}

/** Whether the heartbeat `raw` is this engine's own (a name is this engine's only while it holds it). */
function isOwn(raw: string | null, info: EngineInfo): boolean {
  let other: unknown = null;
  try { other = raw === null ? null : JSON.parse(raw); } catch { /* not ours */ }
  return isEngineInfo(other) && other.host === info.host && other.pid === info.pid && other.started === info.started;
}

/** Removes an engine from the cluster; resolves to false, removing nothing, when another engine holds its name now. */
export async function withdraw(redis: Redis, keys: ClusterKeys, info: EngineInfo): Promise<boolean> {
  const raw = await redis.get(keys.engine(info.name));
  if (raw !== null && !isOwn(raw, info)) return false;
  await redis.multi().del(keys.engine(info.name)).srem(keys.engines, info.name).exec();
  return true;
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
