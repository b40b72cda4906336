/**
 * `forkjoin engine`: one cluster engine in this process. It maps flags to Engine options,
 * stops on SIGTERM/SIGINT (finishing what it holds; a second signal hands it back now).
 */
import { rmSync } from 'node:fs';
import { isForkJoinError } from '../errors.js';
import type { Engine, EngineOptions } from '../cluster/engine.js';
import { loadRedisLibraries, redisLibraries } from '../cluster/libraries.js';
import { checkRoot, ENGINE_GRACE_MS, ENGINE_LEAVE_MS, unprefixed } from '../cluster/local.js';
import { clusterNameOption, engineNameOption } from '../cluster/options.js';
import { within } from '../cluster/outcome.js';
import { checkRedisUrl, redactText } from '../cluster/redis.js';
import { MAX_TIMER_MS } from '../options.js';

/** How long an engine whose Cluster.local caller is gone may take to leave before it exits anyway. */
const CALLER_GONE_LEAVE_MS = 15_000;

const usage = `forkjoin engine --redis URL [--workers N] [--processes] [--root DIR] [--name NAME] [--allow-inline] [--cluster NAME] [--grace MS]

Pulls tasks from the cluster coordinated by the Redis at URL and runs them on this
machine's own thread pool (or process pool with --processes).

  --redis URL      redis://[:password@]host:port or rediss:// for TLS
                   (or the FORKJOIN_REDIS environment variable, which keeps a password out of ps)
  --workers N      pool workers (default: one per core)
  --processes      run tasks in child processes instead of threads
  --root DIR       import task modules only from under DIR, an existing directory
                   (default: the current directory)
  --name NAME      the engine's name in the cluster: letters, digits, _ . - @ (default: host-pid)
  --allow-inline   run inline functions sent by clients (they are code: trust the clients)
  --cluster NAME   the cluster's name, when several share one Redis: letters, digits, _ . -
                   (default: default)
  --grace MS       on SIGTERM, ms to finish running tasks before handing them back, from 0 to
                   ${MAX_TIMER_MS} (default ${ENGINE_GRACE_MS}); the engine exits at most
                   ${ENGINE_LEAVE_MS} ms later, even when Redis is unreachable

  forkjoin engine --redis redis://10.0.0.5:6379 --workers 4 --root /srv/app`;

type EngineArgs = Partial<EngineOptions> & { grace?: number };

function fail(problem: string): number {
  process.stderr.write(`forkjoin engine: ${problem}\n\nusage: ${usage}\n`);
  return 2;
}

/** The flags as options, or the usage problem; values are checked by checkArgs(). */
function parseArgs(args: string[]): EngineArgs | string {
  const o: EngineArgs = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = (): string | undefined => args[++i];
    switch (flag) {
      case '--redis': o.redis = value(); break;
      case '--workers': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 4096) return '--workers takes a whole number from 1 to 4096';
        o.workers = n;
        break;
      }
      case '--processes': o.processes = true; break;
      case '--root': o.root = value(); break;
      case '--name': o.name = value(); break;
      case '--allow-inline': o.allowInline = true; break;
      case '--cluster': o.cluster = value(); break;
      case '--grace': {
        const n = Number(value());
        // A longer delay would make Node's timer fire at once.
        if (!Number.isFinite(n) || n < 0 || n > MAX_TIMER_MS) return `--grace takes a number of milliseconds from 0 to ${MAX_TIMER_MS}`;
        o.grace = n;
        break;
      }
      default: return `unknown option ${JSON.stringify(flag)}`;
    }
  }
  return o;
}

/** Every value checked before connecting, so a mistake is a usage error, not an engine that starts wrong. */
function checkArgs(o: EngineArgs): (EngineOptions & { grace: number }) | string {
  o.redis ??= process.env.FORKJOIN_REDIS;
  if (o.redis === undefined) return '--redis URL is required';
  for (const key of ['root', 'name', 'cluster'] as const) if (key in o && o[key] === undefined) return `--${key} takes a value`;
  const where = 'forkjoin engine';
  try {
    checkRedisUrl(where, o.redis);
    if (o.cluster !== undefined) clusterNameOption(where, o.cluster);
    if (o.name !== undefined) engineNameOption(where, o.name);
    if (o.root !== undefined) o.root = checkRoot(where, '--root', o.root);
  } catch (error) {
    return unprefixed(error, where);
  }
  return { ...o, redis: o.redis, grace: o.grace ?? ENGINE_GRACE_MS };
}

/**
 * Stops the engine on the first SIGTERM/SIGINT (a second hands back its tasks now), and
 * resolves with the exit code. An engine whose Redis is gone can neither hand back nor
 * leave, and would wait for it forever: it exits anyway ENGINE_LEAVE_MS after its grace.
 * One started by Cluster.local (an IPC channel) leaves at once when its caller is gone, even
 * killed, handing back what it holds.
 */
function untilStopped(engine: Engine, grace: number): Promise<number> {
  return new Promise((resolve) => {
    let leaving = false;
    const leave = (graceMs: number, leaveMs = ENGINE_LEAVE_MS): void => {
      if (leaving) {
        engine.handBack();
        return;
      }
      leaving = true;
      const limit = Math.min(graceMs + leaveMs, MAX_TIMER_MS);
      const deadline = setTimeout(() => {
        process.stderr.write(`forkjoin engine ${engine.name}: could not leave the cluster within ${limit} ms (is Redis reachable?); exiting\n`);
        process.exit(1);
      }, limit);
      deadline.unref();
      const stopped = (): void => {
        clearTimeout(deadline);
        resolve(0);
      };
      engine.stop({ grace: graceMs }).then(stopped, stopped);
    };
    process.on('SIGTERM', () => leave(grace));
    process.on('SIGINT', () => leave(grace));
    if (process.channel !== undefined) {
      process.channel.unref();
      // Time to leave, even on a busy machine, so that the first engine gets to stop redis-server.
      process.once('disconnect', () => leave(0, CALLER_GONE_LEAVE_MS));
    }
  });
}

/** Shuts down the private redis-server of a Cluster.local whose caller is gone, and removes its folder. */
async function stopPrivateRedis(url: string, dir: string): Promise<void> {
  const redis = new (redisLibraries().ioredis.Redis)(url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  // SHUTDOWN closes the connection it came on: its answer is an error, or none.
  await within(redis.call('SHUTDOWN', 'NOSAVE').catch(() => {}), 2_000);
  redis.disconnect();
  // The server may still be on its way out, its folder busy: try again for a moment.
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export const engineCommand = {
  usage,
  async run(args: string[]): Promise<number> {
    const parsed = parseArgs(args);
    const o = typeof parsed === 'string' ? parsed : checkArgs(parsed);
    if (typeof o === 'string') return fail(o);
    let engine: Engine;
    try {
      await loadRedisLibraries();
      const { Engine: EngineClass } = await import('../cluster/engine.js');
      engine = await EngineClass.start(o);
    } catch (error) {
      const code = isForkJoinError(error) ? ` [${error.code}]` : '';
      process.stderr.write(`forkjoin engine: ${redactText((error as Error).message)}${code}\n`);
      return 1;
    }
    const withCaller = process.channel !== undefined;
    const code = await untilStopped(engine, o.grace);
    // Cluster.local's first engine, its caller gone however (Ctrl-C, SIGKILL): the private
    // redis-server goes too, and its folder.
    const redisDir = process.env.FORKJOIN_PRIVATE_REDIS_DIR;
    if (withCaller && redisDir !== undefined) {
      // Ctrl-C signals the caller and its engines at once: its channel may close just after.
      if (process.connected) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        process.once('disconnect', () => { clearTimeout(timer); resolve(); });
      });
      if (!process.connected) await stopPrivateRedis(o.redis, redisDir);
    }
    // Stopped: a connection still trying to reach a Redis that is gone must not keep the process.
    setTimeout(() => process.exit(code), 500).unref();
    return code;
  },
};
