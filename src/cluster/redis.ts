/**
 * Connections to the cluster's Redis: one way to open them (the settings BullMQ needs,
 * TLS for rediss://), one way to name a URL in a message (its password redacted), and
 * the check that warns when Redis may evict keys.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { loadRedisLibraries, redisLibraries } from './libraries.js';
import { ErrorCodes, ForkJoinError, InvalidTypeError, InvalidValueError } from '../errors.js';

/** TLS options for a rediss:// connection, as ioredis takes them (`ca`, `cert`, `key`, ...). */
export type RedisTls = RedisOptions['tls'];

/** The URL with any password (and user) replaced by `***`: safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.username !== '' && parsed.username !== 'default') parsed.username = '***';
    return parsed.href;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Any text with passwords in Redis URLs redacted, for errors that quote a URL. */
export function redactText(text: string): string {
  return text.replace(/(rediss?:\/\/)[^@\s/]*@/g, '$1***@');
}

/** Checks the URL's scheme once, so a typo fails with a clear message instead of a hang. */
export function checkRedisUrl(where: string, url: unknown): string {
  if (typeof url !== 'string') throw new InvalidTypeError(`${where}: the "redis" option must be a URL string such as redis://127.0.0.1:6379; received ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidValueError(`${where}: ${JSON.stringify(redactUrl(url))} is not a URL (expected redis://host:port, or rediss://host:port for TLS)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidValueError(`${where}: ${redactUrl(url)} is not a Redis URL (expected redis://host:port, or rediss://host:port for TLS)`);
  }
  return url;
}

/**
 * Why a call could not be queued: Redis refused to store it for lack of memory (its
 * maxmemory reached: only freeing memory helps), or could not be reached.
 */
export function queueError(label: string, error: unknown, url: string): ForkJoinError {
  const text = redactText(error instanceof Error ? error.message : String(error));
  const message = /^OOM\b/.test(text)
    ? `Cannot queue ${label}: the Redis at ${redactUrl(url)} refused to store it for lack of memory (it reached its maxmemory); ` +
      `free memory there, raise its maxmemory, or send smaller arguments (${text})`
    : `Cannot queue ${label}: ${text}`;
  return new ForkJoinError(ErrorCodes.REDIS_UNAVAILABLE, message, { cause: error });
}

/** A connection with the settings BullMQ needs: commands wait across reconnects instead of failing. */
export function openRedis(url: string, tls?: RedisTls): Redis {
  // No auto-pipelining: on a busy engine it cost more CPU than the writes it saved.
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
    lazyConnect: false,
  };
  if (tls !== undefined) options.tls = tls;
  const redis = new (redisLibraries().ioredis.Redis)(url, options);
  // Connection errors repeat while Redis is away; ioredis reconnects, so they are not fatal.
  redis.on('error', () => {});
  return redis;
}

/**
 * Waits for the first connection; rejects with FJ_REDIS_UNAVAILABLE after `ms`, or at once
 * when the connection is closed meanwhile (no timer is left to hold the process), or when
 * Redis has no database of the URL's number.
 */
export async function ready(redis: Redis, url: string, ms = 10_000): Promise<void> {
  await connected(redis, url, ms);
  await checkDatabase(redis, url);
}

/**
 * ioredis only logs a SELECT of the URL's database that Redis refused, and goes on in
 * database 0, among other data: so the database is selected again, and a refusal fails.
 */
async function checkDatabase(redis: Redis, url: string): Promise<void> {
  const db = redis.options.db ?? 0;
  if (db === 0) return;
  try {
    await redis.select(db);
  } catch (error) {
    const why = error instanceof Error ? redactText(error.message) : String(error);
    throw new ForkJoinError(ErrorCodes.REDIS_UNAVAILABLE, `The Redis at ${redactUrl(url)} has no database ${db} (${why}); ` +
      'use a number below its `databases` setting (16 unless configured), or none for database 0', { cause: error });
  }
}

async function connected(redis: Redis, url: string, ms: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let last: unknown;
    const fail = (why: string, hint = 'is redis-server running there?'): void => {
      cleanup();
      reject(new ForkJoinError(ErrorCodes.REDIS_UNAVAILABLE, `Cannot connect to Redis at ${redactUrl(url)} (${why}); ${hint}`));
    };
    // A server that refuses the password will refuse it again: no use waiting for it.
    const onError = (error: unknown): void => {
      last = error;
      const message = error instanceof Error ? error.message : '';
      if (/^(WRONGPASS|NOAUTH|ERR AUTH|ERR invalid password)/.test(message)) fail(redactText(message), 'check the password (and user) in the URL');
    };
    const timer = setTimeout(() => fail(last instanceof Error ? redactText(last.message) : 'no answer'), ms);
    const onReady = (): void => { cleanup(); resolve(); };
    const onEnd = (): void => fail('the connection was closed');
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
    };
    if (redis.status === 'end') return onEnd();
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('end', onEnd);
  });
}

/** A connection to `url` once it is ready (FJ_REDIS_UNAVAILABLE after `ms`); none is left open on failure. */
export async function connectReady(url: string, ms?: number): Promise<Redis> {
  await loadRedisLibraries();
  const conn = openRedis(url);
  try {
    await ready(conn, url, ms);
  } catch (error) {
    conn.disconnect();
    throw error;
  }
  return conn;
}

/** A warning when Redis may evict keys (queued tasks would vanish), else null. */
export async function evictionWarning(redis: Redis, url: string): Promise<string | null> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown as string[];
    policy = reply[1];
  } catch {
    // CONFIG is often disabled on managed Redis: INFO tells the same.
    try {
      const info = await redis.info('memory');
      policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    } catch { /* cannot tell */ }
  }
  if (policy === undefined || policy === 'noeviction') return null;
  return `forkjoin: the Redis at ${redactUrl(url)} has maxmemory-policy ${policy}, so it may evict queued tasks and results. ` +
    'Fix it with `redis-cli CONFIG SET maxmemory-policy noeviction` and `maxmemory-policy noeviction` in redis.conf.';
}
