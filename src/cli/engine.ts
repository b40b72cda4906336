/**
 * `forkjoin engine`: one cluster engine in this process. It maps flags to Engine options,
 * stops on SIGTERM/SIGINT (finishing what it holds; a second signal hands it back now).
 */
import { isForkJoinError } from '../errors.js';
import type { Engine, EngineOptions } from '../cluster/engine.js';
import { loadRedisLibraries } from '../cluster/libraries.js';
import { checkRedisUrl, redactText } from '../cluster/redis.js';

const usage = `forkjoin engine --redis URL [--workers N] [--processes] [--root DIR] [--name NAME] [--allow-inline] [--cluster NAME] [--grace MS]

Pulls tasks from the cluster coordinated by the Redis at URL and runs them on this
machine's own thread pool (or process pool with --processes).

  --redis URL      redis://[:password@]host:port or rediss:// for TLS
                   (or the FORKJOIN_REDIS environment variable, which keeps a password out of ps)
  --workers N      pool workers (default: one per core)
  --processes      run tasks in child processes instead of threads
  --root DIR       import task modules only from under DIR (default: the current directory)
  --name NAME      the engine's name in the cluster (default: host-pid)
  --allow-inline   run inline functions sent by clients (they are code: trust the clients)
  --cluster NAME   the cluster's name, when several share one Redis (default: default)
  --grace MS       on SIGTERM, ms to finish running tasks before handing them back (default 30000)

  forkjoin engine --redis redis://10.0.0.5:6379 --workers 4 --root /srv/app`;

function fail(problem: string): number {
  process.stderr.write(`forkjoin engine: ${problem}\n\nusage: ${usage}\n`);
  return 2;
}

export const engineCommand = {
  usage,
  async run(args: string[]): Promise<number> {
    const o: Partial<EngineOptions> & { grace?: number } = {};
    for (let i = 0; i < args.length; i++) {
      const flag = args[i];
      const value = (): string | undefined => args[++i];
      switch (flag) {
        case '--redis': o.redis = value(); break;
        case '--workers': {
          const n = Number(value());
          if (!Number.isInteger(n) || n < 1) return fail('--workers takes a whole number >= 1');
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
          if (!Number.isFinite(n) || n < 0) return fail('--grace takes a number of milliseconds');
          o.grace = n;
          break;
        }
        default: return fail(`unknown option ${JSON.stringify(flag)}`);
      }
    }
    o.redis ??= process.env.FORKJOIN_REDIS;
    if (o.redis === undefined) return fail('--redis URL is required');
    for (const key of ['root', 'name', 'cluster'] as const) if (key in o && o[key] === undefined) return fail(`--${key} takes a value`);
    try {
      checkRedisUrl('forkjoin engine', o.redis);
    } catch (error) {
      return fail((error as Error).message);
    }
    let engine: Engine;
    try {
      await loadRedisLibraries();
      const { Engine: EngineClass } = await import('../cluster/engine.js');
      engine = await EngineClass.start(o as EngineOptions);
    } catch (error) {
      const code = isForkJoinError(error) ? ` [${error.code}]` : '';
      process.stderr.write(`forkjoin engine: ${redactText((error as Error).message)}${code}\n`);
      return 1;
    }
    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (): void => {
        signals++;
        if (signals === 1) engine.stop({ grace: o.grace ?? 30_000 }).then(resolve, resolve);
        else engine.handBack();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    return 0;
  },
};
