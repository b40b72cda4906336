/** Cluster.connect()'s options: documented, defaulted and validated in one place. */
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import { durationOption, integerOption, knownKeys, objectOption } from '../options.js';
import { checkRedisUrl, type RedisTls } from './redis.js';
import { describeType } from '../task.js';

export interface ClusterOptions {
  /**
   * The Redis that coordinates the cluster; rediss:// for TLS, a password in the URL works.
   * @example { redis: 'redis://10.0.0.5:6379' }
   */
  redis: string;
  /**
   * TLS options for rediss:// (e.g. a private CA).
   * @example { tls: { ca: readFileSync('ca.pem') } }
   */
  tls?: RedisTls | undefined;
  /**
   * The cluster's name, so that several clusters share one Redis (engines take `--cluster`).
   * @default 'default'
   */
  cluster?: string | undefined;
  /**
   * Times a task runs again when its pool worker crashes or the engine running it is lost.
   * @default 3
   */
  retries?: number | undefined;
  /**
   * Default time limit of each task in ms, from when it starts on an engine.
   * @default Infinity
   */
  timeout?: number | undefined;
  /**
   * Resolve `connect()` only once this many engines are live.
   * @default 0
   */
  minEngines?: number | undefined;
  /**
   * Milliseconds `connect()` waits for Redis and for `minEngines`.
   * @default 10_000
   */
  connectTimeout?: number | undefined;
}

/** One engine's outcome of `broadcast()`. */
export type BroadcastResult<R> =
  | { engine: string; status: 'fulfilled'; value: R }
  | { engine: string; status: 'rejected'; reason: unknown };

const connectKeys = ['redis', 'tls', 'cluster', 'retries', 'timeout', 'minEngines', 'connectTimeout'] as const;

export interface NormalizedConnectOptions {
  redis: string;
  tls: RedisTls | undefined;
  cluster: string;
  retries: number;
  timeout: number;
  minEngines: number;
  /** ms to wait for Redis and for minEngines. */
  wait: number;
}

/** A cluster's name (the engines' --cluster): letters, digits, `_ . -`. */
export function clusterNameOption(where: string, cluster: unknown): string {
  const rule = 'must be a name of letters, digits, _ . - (the engines\' --cluster)';
  if (typeof cluster !== 'string') throw new InvalidTypeError(`${where}: the "cluster" option ${rule}; received ${cluster === null ? 'null' : typeof cluster}`);
  if (!/^[\w.-]+$/.test(cluster)) throw new InvalidValueError(`${where}: the "cluster" option ${rule}; received ${JSON.stringify(cluster)}`);
  return cluster;
}

/**
 * An engine's name: part of its queue's Redis keys (and of a key pattern it deletes when it
 * leaves), so 1 to 128 letters, digits, _ . - @: no ':', no '*' or other pattern characters.
 */
export function engineNameOption(where: string, name: unknown): string {
  const rule = 'must be 1 to 128 letters, digits, _ . - @';
  if (typeof name !== 'string') throw new InvalidTypeError(`${where}: the engine name ${rule}; received ${name === null ? 'null' : typeof name}`);
  if (!/^[\w.@-]{1,128}$/.test(name)) throw new InvalidValueError(`${where}: the engine name ${rule}; received ${JSON.stringify(name)}`);
  return name;
}

/** TLS options for ioredis (`tls.connect()`'s): an object, or none. */
function tlsOption(where: string, tls: unknown): RedisTls | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    throw new InvalidTypeError(`${where}: the "tls" option must be an object of TLS options (e.g. { ca }); received ${describeType(tls)}`);
  }
  return tls as RedisTls;
}

export function normalizeConnectOptions(where: string, options: unknown): NormalizedConnectOptions {
  const o = objectOption(where, options) as ClusterOptions & Record<string, unknown>;
  knownKeys(where, o, connectKeys);
  const redis = checkRedisUrl(where, o.redis);
  const cluster = o.cluster === undefined ? 'default' : clusterNameOption(where, o.cluster);
  return {
    redis,
    tls: tlsOption(where, o.tls),
    cluster,
    retries: o.retries === undefined ? 3 : integerOption(where, 'retries', o.retries, 0, 1_000),
    timeout: o.timeout === undefined ? Number.POSITIVE_INFINITY : durationOption(where, 'timeout', o.timeout),
    minEngines: o.minEngines === undefined ? 0 : integerOption(where, 'minEngines', o.minEngines, 0),
    wait: o.connectTimeout === undefined ? 10_000 : durationOption(where, 'connectTimeout', o.connectTimeout),
  };
}
