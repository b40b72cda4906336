/**
 * `forkjoin cluster start|stop|status`: engines on this machine (and a private redis-server
 * when no --redis is given), remembered in a state file so that stop and status find them.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isForkJoinError } from '../errors.js';
import { openRedis, ready, redactText, redactUrl, checkRedisUrl } from '../cluster/redis.js';
import { liveEngines } from '../cluster/registry.js';
import { loadRedisLibraries } from '../cluster/libraries.js';
import { spawnEngine, startRedisServer, stopProcess } from '../cluster/local.js';
import { clusterKeys, type EngineInfo } from '../cluster/wire.js';

const usage = `forkjoin cluster start -n N [--redis URL] [--workers W] [--processes] [--root DIR] [--allow-inline] [--cluster NAME]
       forkjoin cluster stop
       forkjoin cluster status [--redis URL] [--cluster NAME]

start   starts N engines on this machine in the background; without --redis, also a private
        redis-server on a free loopback port (maxmemory-policy noeviction). Connect with
        Cluster.connect({ redis: URL }) using the URL it prints.
stop    stops the engines (each finishes its running tasks) and the private redis-server.
status  each engine of the cluster: host, pid, workers, busy, done, failed, last heartbeat.

State: $FORKJOIN_CLUSTER_STATE, default ${join(tmpdir(), 'forkjoin-cluster-USER.json')}`;

interface State {
  redis: string;
  cluster: string;
  redisPid: number | null;
  redisDir: string | null;
  engines: Array<{ name: string; pid: number }>;
  logs: string;
}

function statePath(): string {
  return process.env.FORKJOIN_CLUSTER_STATE ?? join(tmpdir(), `forkjoin-cluster-${userInfo().username}.json`);
}

function readState(): State | null {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as State;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function fail(problem: string): number {
  process.stderr.write(`forkjoin cluster: ${problem}\n\nusage: ${usage}\n`);
  return 2;
}

function parse(args: string[]): Record<string, string | true> | string {
  const flags: Record<string, string | true> = {};
  const valued = new Set(['-n', '--redis', '--workers', '--root', '--cluster']);
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (valued.has(flag)) {
      const value = args[++i];
      if (value === undefined) return `${flag} takes a value`;
      flags[flag] = value;
    } else if (flag === '--processes' || flag === '--allow-inline') flags[flag] = true;
    else return `unknown option ${JSON.stringify(flag)}`;
  }
  return flags;
}

async function start(flags: Record<string, string | true>): Promise<number> {
  const n = Number(flags['-n']);
  if (!Number.isInteger(n) || n < 1) return fail('start needs -n N, the number of engines (a whole number >= 1)');
  const previous = readState();
  if (previous !== null && previous.engines.some((e) => alive(e.pid))) {
    process.stderr.write(`forkjoin cluster: a cluster started here is still running (${redactUrl(previous.redis)}); stop it first with \`forkjoin cluster stop\`\n`);
    return 1;
  }
  const cluster = typeof flags['--cluster'] === 'string' ? flags['--cluster'] : 'default';
  const logs = join(tmpdir(), `forkjoin-cluster-logs-${process.pid}`);
  mkdirSync(logs, { recursive: true });
  let redis = typeof flags['--redis'] === 'string' ? flags['--redis'] : undefined;
  let redisPid: number | null = null;
  let redisDir: string | null = null;
  if (redis === undefined) {
    try {
      const server = await startRedisServer({ detached: true, logFile: join(logs, 'redis.log') });
      redis = server.url;
      redisPid = server.pid;
      redisDir = server.dir;
      process.stdout.write(`forkjoin cluster: started redis-server (pid ${server.pid}) at ${redis}\n`);
    } catch (error) {
      process.stderr.write(`forkjoin cluster: ${(error as Error).message}\n`);
      return 1;
    }
  } else {
    try { checkRedisUrl('forkjoin cluster start', redis); } catch (error) { return fail((error as Error).message); }
  }
  const workers = typeof flags['--workers'] === 'string' ? Number(flags['--workers']) : undefined;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) return fail('--workers takes a whole number >= 1');
  const engines: State['engines'] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${cluster}-${process.pid}-${i}`;
    const child = spawnEngine({
      redis, cluster, name, workers, processes: flags['--processes'] === true, detached: true,
      root: typeof flags['--root'] === 'string' ? flags['--root'] : process.cwd(),
      allowInline: flags['--allow-inline'] === true, logFile: join(logs, `${name}.log`),
    });
    engines.push({ name, pid: child.pid ?? 0 });
  }
  const state: State = { redis, cluster, redisPid, redisDir, engines, logs };
  writeFileSync(statePath(), JSON.stringify(state), { mode: 0o600 });
  await loadRedisLibraries();
  const conn = openRedis(redis);
  try {
    await ready(conn, redis);
    const keys = clusterKeys(cluster);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { live } = await liveEngines(conn, keys);
      const mine = live.filter((e) => engines.some((x) => x.name === e.name)).length;
      if (mine === n) break;
      if (Date.now() > deadline || engines.every((e) => !alive(e.pid))) {
        process.stderr.write(`forkjoin cluster: only ${mine} of ${n} engines came up; see the logs in ${logs}\n`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    process.stderr.write(`forkjoin cluster: ${redactText((error as Error).message)}\n`);
    return 1;
  } finally {
    conn.disconnect();
  }
  process.stdout.write(`forkjoin cluster: ${n} engine(s) running (logs in ${logs})\n` +
    `connect with: await Cluster.connect({ redis: '${redactUrl(redis)}'${cluster === 'default' ? '' : `, cluster: '${cluster}'`} })\n`);
  return 0;
}

async function stop(): Promise<number> {
  const state = readState();
  if (state === null) {
    process.stderr.write(`forkjoin cluster: no cluster was started here (no ${statePath()})\n`);
    return 1;
  }
  await Promise.all(state.engines.map((e) => stopProcess(e.pid, undefined, 35_000)));
  if (state.redisPid !== null) await stopProcess(state.redisPid);
  if (state.redisDir !== null) rmSync(state.redisDir, { recursive: true, force: true });
  rmSync(statePath(), { force: true });
  process.stdout.write(`forkjoin cluster: stopped ${state.engines.length} engine(s)${state.redisPid !== null ? ' and redis-server' : ''}\n`);
  return 0;
}

function ago(ms: number): string {
  return ms < 1_000 ? `${ms} ms ago` : `${(ms / 1_000).toFixed(1)} s ago`;
}

async function status(flags: Record<string, string | true>): Promise<number> {
  const state = readState();
  const redis = typeof flags['--redis'] === 'string' ? flags['--redis'] : state?.redis;
  const cluster = typeof flags['--cluster'] === 'string' ? flags['--cluster'] : state?.cluster ?? 'default';
  if (redis === undefined) {
    process.stderr.write('forkjoin cluster: no cluster was started here; pass --redis URL to see another\n');
    return 1;
  }
  if (!existsSync(statePath()) && flags['--redis'] === undefined) return 1;
  await loadRedisLibraries();
  const conn = openRedis(redis);
  let engines: EngineInfo[];
  try {
    await ready(conn, redis, 5_000);
    engines = (await liveEngines(conn, clusterKeys(cluster))).live;
  } catch (error) {
    process.stderr.write(`forkjoin cluster: ${redactText((error as Error).message)}${isForkJoinError(error) ? ` [${error.code}]` : ''}\n`);
    return 1;
  } finally {
    conn.disconnect();
  }
  process.stdout.write(`cluster ${cluster} at ${redactUrl(redis)}: ${engines.length} engine(s)\n`);
  const now = Date.now();
  const rows = [['engine', 'host', 'pid', 'workers', 'busy', 'done', 'failed', 'state', 'last heartbeat'],
    ...engines.map((e) => [e.name, e.host, String(e.pid), String(e.workers), String(e.busy), String(e.done), String(e.failed), e.state, ago(Math.max(0, now - e.heartbeat))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) process.stdout.write(`  ${row.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
  return 0;
}

export const clusterCommand = {
  usage,
  async run(args: string[]): Promise<number> {
    const [action, ...rest] = args;
    const flags = parse(rest);
    if (typeof flags === 'string') return fail(flags);
    switch (action) {
      case 'start': return start(flags);
      case 'stop': return stop();
      case 'status': return status(flags);
      default: return fail(action === undefined ? 'say start, stop or status' : `unknown action ${JSON.stringify(action)}`);
    }
  },
};
