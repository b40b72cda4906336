/**
 * `forkjoin cluster start|stop|status`: engines on this machine (and a private redis-server
 * when no --redis is given), remembered in a state file so that stop and status find them.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { isForkJoinError } from '../errors.js';
import { connectReady, redactText, redactUrl, checkRedisUrl } from '../cluster/redis.js';
import { clusterNameOption } from '../cluster/options.js';
import { liveEngines } from '../cluster/registry.js';
import {
  checkRoot, ENGINE_GRACE_MS, ENGINE_LEAVE_MS, MAX_LOCAL_ENGINES, spawnEngine, startRedisServer, stopProcess, unprefixed,
} from '../cluster/local.js';
import { clusterKeys, type EngineInfo } from '../cluster/wire.js';

const usage = `forkjoin cluster start -n N [--redis URL] [--workers W] [--processes] [--root DIR] [--allow-inline] [--cluster NAME]
       forkjoin cluster stop
       forkjoin cluster status [--redis URL] [--cluster NAME]

start   starts N engines (1 to ${MAX_LOCAL_ENGINES}) on this machine in the background; without --redis,
        also a private redis-server on a free loopback port (maxmemory-policy noeviction).
        Connect with Cluster.connect({ redis: URL }) using the URL it prints. Every flag is
        checked before anything starts; each process is recorded as soon as it exists, so
        \`stop\` stops what a start cut short had started.
stop    stops the engines (each finishes its running tasks) and the private redis-server,
        and says which of them had already gone.
status  each engine of the cluster: host, pid, workers, busy, done, failed, last heartbeat.

State: $FORKJOIN_CLUSTER_STATE, default ${join(tmpdir(), 'forkjoin-cluster-USER.json')}`;

interface State {
  /** null until the private redis-server is ready. */
  redis: string | null;
  cluster: string;
  redisPid: number | null;
  redisDir: string | null;
  engines: Array<{ name: string; pid: number }>;
  logs: string;
}

/** What `start` will do, every flag checked. */
interface StartPlan {
  n: number;
  redis: string | undefined;
  cluster: string;
  workers: number | undefined;
  processes: boolean;
  root: string;
  allowInline: boolean;
}

type Flags = Record<string, string | true>;

/** The flags each action takes: any other is a usage error. */
const actionFlags: Readonly<Record<string, readonly string[]>> = Object.freeze({
  start: ['-n', '--redis', '--workers', '--root', '--cluster', '--processes', '--allow-inline'],
  stop: [],
  status: ['--redis', '--cluster'],
});
const valued = new Set(['-n', '--redis', '--workers', '--root', '--cluster']);

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

/** Written whole or not at all (a start killed mid-write leaves the previous state, never half of one). */
function writeState(state: State): void {
  const path = statePath();
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(state), { mode: 0o600 });
  renameSync(partial, path);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Whether `pid` still runs the process recorded under it (its command line holds `marker`,
 * where the system shows it): a pid the system gave to another program since is not ours.
 */
function ours(pid: number, marker: string): boolean {
  if (pid <= 0 || !alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return true; // no /proc: the pid is all there is to go by
  }
}

/** The recorded processes that still run. */
function running(state: State): number[] {
  const engines = state.engines.filter((e) => ours(e.pid, e.name)).map((e) => e.pid);
  return state.redisPid !== null && ours(state.redisPid, 'redis-server') ? [...engines, state.redisPid] : engines;
}

function fail(problem: string): number {
  process.stderr.write(`forkjoin cluster: ${problem}\n\nusage: ${usage}\n`);
  return 2;
}

function parse(action: string, args: string[]): Flags | string {
  const allowed = actionFlags[action] ?? [];
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (!allowed.includes(flag)) return `${action} takes no option ${JSON.stringify(flag)}`;
    if (valued.has(flag)) {
      const value = args[++i];
      if (value === undefined) return `${flag} takes a value`;
      flags[flag] = value;
    } else flags[flag] = true;
  }
  return flags;
}

function text(flags: Flags, flag: string): string | undefined {
  const value = flags[flag];
  return typeof value === 'string' ? value : undefined;
}

/** Every flag of `start` checked before anything starts: a usage error leaves nothing running and nothing made. */
function planStart(flags: Flags): StartPlan | string {
  const where = 'forkjoin cluster start';
  const n = Number(flags['-n']);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOCAL_ENGINES) return `start needs -n N, the number of engines (a whole number from 1 to ${MAX_LOCAL_ENGINES})`;
  const workers = text(flags, '--workers') === undefined ? undefined : Number(flags['--workers']);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) return '--workers takes a whole number >= 1';
  const redis = text(flags, '--redis');
  const cluster = text(flags, '--cluster') ?? 'default';
  try {
    if (redis !== undefined) checkRedisUrl(where, redis);
    clusterNameOption(where, cluster);
    const root = checkRoot(where, '--root', text(flags, '--root') ?? process.cwd());
    return { n, redis, cluster, workers, root, processes: flags['--processes'] === true, allowInline: flags['--allow-inline'] === true };
  } catch (error) {
    return unprefixed(error, where);
  }
}

/** Starts the private redis-server, recorded in `state` from the moment its process exists. */
async function startPrivateRedis(state: State): Promise<string> {
  const server = await startRedisServer({
    detached: true,
    logFile: join(state.logs, 'redis.log'),
    onSpawn: (pid, dir) => {
      state.redisPid = pid;
      state.redisDir = dir;
      writeState(state);
    },
  });
  Object.assign(state, { redis: server.url, redisPid: server.pid, redisDir: server.dir });
  writeState(state);
  process.stdout.write(`forkjoin cluster: started redis-server (pid ${server.pid}) at ${server.url}\n`);
  return server.url;
}

/** Spawns the engines, recording each in `state` as it starts. */
function spawnEngines(plan: StartPlan, redis: string, state: State): void {
  for (let i = 1; i <= plan.n; i++) {
    const name = `${plan.cluster}-${process.pid}-${i}`;
    const child = spawnEngine({
      redis, cluster: plan.cluster, name, workers: plan.workers, processes: plan.processes, detached: true,
      root: plan.root, allowInline: plan.allowInline, logFile: join(state.logs, `${name}.log`),
    });
    state.engines.push({ name, pid: child.pid ?? 0 });
    writeState(state);
  }
}

/** Waits until every engine announced itself; 1 when some did not (they stay recorded for `stop`). */
async function awaitEngines(plan: StartPlan, conn: Redis, state: State): Promise<number> {
  const keys = clusterKeys(plan.cluster);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { live } = await liveEngines(conn, keys);
    const mine = live.filter((e) => state.engines.some((x) => x.name === e.name)).length;
    if (mine === plan.n) return 0;
    if (Date.now() > deadline || state.engines.every((e) => !alive(e.pid))) {
      process.stderr.write(`forkjoin cluster: only ${mine} of ${plan.n} engines came up; see the logs in ${state.logs}, and stop them with \`forkjoin cluster stop\`\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Forgets a start that left nothing running: its state and its empty logs. */
function forget(state: State): void {
  rmSync(statePath(), { force: true });
  rmSync(state.logs, { recursive: true, force: true });
}

async function start(flags: Flags): Promise<number> {
  const plan = planStart(flags);
  if (typeof plan === 'string') return fail(plan);
  const previous = readState();
  if (previous !== null && running(previous).length > 0) {
    process.stderr.write(`forkjoin cluster: a cluster started here is still running (${redactUrl(previous.redis ?? 'its redis-server is starting')}); stop it first with \`forkjoin cluster stop\`\n`);
    return 1;
  }
  const logs = join(tmpdir(), `forkjoin-cluster-logs-${process.pid}`);
  mkdirSync(logs, { recursive: true });
  const state: State = { redis: plan.redis ?? null, cluster: plan.cluster, redisPid: null, redisDir: null, engines: [], logs };
  // Recorded before the first process starts: a start cut short can always be stopped.
  writeState(state);
  let conn: Redis;
  try {
    // startRedisServer stops what it started when it fails; a given Redis is checked before any engine starts.
    conn = await connectReady(plan.redis ?? await startPrivateRedis(state));
  } catch (error) {
    if (state.redisPid === null || !alive(state.redisPid)) forget(state);
    process.stderr.write(`forkjoin cluster: ${redactText((error as Error).message)}\n`);
    return 1;
  }
  const redis = state.redis ?? '';
  try {
    spawnEngines(plan, redis, state);
    const code = await awaitEngines(plan, conn, state);
    if (code !== 0) return code;
  } catch (error) {
    process.stderr.write(`forkjoin cluster: ${redactText((error as Error).message)}\n`);
    return 1;
  } finally {
    conn.disconnect();
  }
  process.stdout.write(`forkjoin cluster: ${plan.n} engine(s) running (logs in ${logs})\n` +
    `connect with: await Cluster.connect({ redis: '${redactUrl(redis)}'${plan.cluster === 'default' ? '' : `, cluster: '${plan.cluster}'`} })\n`);
  return 0;
}

/** What stop did: how many of the recorded processes it stopped, and how many had already gone. */
function stopReport(stopped: number, gone: number, redis: 'stopped' | 'gone' | 'none'): string {
  const goneText = [gone > 0 ? `${gone} engine(s)` : '', redis === 'gone' ? 'redis-server' : ''].filter((s) => s !== '').join(' and ');
  return `forkjoin cluster: stopped ${stopped} engine(s)${redis === 'stopped' ? ' and redis-server' : ''}` +
    `${goneText === '' ? '' : `; already gone: ${goneText}`}\n`;
}

async function stop(): Promise<number> {
  const state = readState();
  if (state === null) {
    process.stderr.write(`forkjoin cluster: no cluster was started here (no ${statePath()})\n`);
    return 1;
  }
  // An engine gets its grace to finish its tasks, and the time it takes to leave.
  const engineMs = ENGINE_GRACE_MS + ENGINE_LEAVE_MS + 2_000;
  const outcomes = await Promise.all(state.engines.map(async (e) => ours(e.pid, e.name) && stopProcess(e.pid, undefined, engineMs)));
  const stopped = outcomes.filter(Boolean).length;
  let redis: 'stopped' | 'gone' | 'none' = 'none';
  if (state.redisPid !== null) redis = ours(state.redisPid, 'redis-server') && await stopProcess(state.redisPid) ? 'stopped' : 'gone';
  if (state.redisDir !== null) rmSync(state.redisDir, { recursive: true, force: true });
  rmSync(statePath(), { force: true });
  process.stdout.write(stopReport(stopped, state.engines.length - stopped, redis));
  return 0;
}

function ago(ms: number): string {
  return ms < 1_000 ? `${ms} ms ago` : `${(ms / 1_000).toFixed(1)} s ago`;
}

async function status(flags: Flags): Promise<number> {
  const state = readState();
  const redis = text(flags, '--redis') ?? state?.redis ?? undefined;
  const cluster = text(flags, '--cluster') ?? state?.cluster ?? 'default';
  if (redis === undefined) {
    process.stderr.write('forkjoin cluster: no cluster was started here; pass --redis URL to see another\n');
    return 1;
  }
  const where = 'forkjoin cluster status';
  try {
    checkRedisUrl(where, redis);
    clusterNameOption(where, cluster);
  } catch (error) {
    return fail(unprefixed(error, where));
  }
  let engines: EngineInfo[];
  let conn: Redis | null = null;
  try {
    conn = await connectReady(redis, 5_000);
    engines = (await liveEngines(conn, clusterKeys(cluster))).live;
  } catch (error) {
    process.stderr.write(`forkjoin cluster: ${redactText((error as Error).message)}${isForkJoinError(error) ? ` [${error.code}]` : ''}\n`);
    return 1;
  } finally {
    conn?.disconnect();
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
    if (action === undefined || !Object.hasOwn(actionFlags, action)) {
      return fail(action === undefined ? 'say start, stop or status' : `unknown action ${JSON.stringify(action)}`);
    }
    const flags = parse(action, rest);
    if (typeof flags === 'string') return fail(flags);
    switch (action) {
      case 'start': return start(flags);
      case 'stop': return stop();
      case 'status': return status(flags);
      default: return fail(action === undefined ? 'say start, stop or status' : `unknown action ${JSON.stringify(action)}`);
    }
  },
};
