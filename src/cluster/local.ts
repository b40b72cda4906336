/**
 * Processes on this machine: a private redis-server on a free loopback port, and engine
 * processes (`forkjoin engine`). Shared by Cluster.local() and `forkjoin cluster start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, ForkJoinError, InvalidTypeError, InvalidValueError } from '../errors.js';
import { inFlagWords } from '../options.js';
import { cliMain } from '../paths.js';

/** Most engines one machine starts (Cluster.local, `forkjoin cluster start -n`). */
export const MAX_LOCAL_ENGINES = 256;
/** An engine's default `--grace`: ms to finish its running tasks on SIGTERM before handing them back. */
export const ENGINE_GRACE_MS = 30_000;
/** What an engine allows itself past its grace to hand back and leave; then it exits regardless (Redis may be gone). */
export const ENGINE_LEAVE_MS = 3_000;

/**
 * An engine's task root, resolved: it must be an existing directory, or every module task
 * would be refused later, far from the typo that caused it.
 */
export function checkRoot(where: string, name: string, root: unknown): string {
  if (typeof root !== 'string' || root === '') throw new InvalidTypeError(`${where}: ${name} must be a directory path; received ${typeof root === 'string' ? 'an empty string' : typeof root}`);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    throw new InvalidValueError(`${where}: ${name} ${root} does not exist; give the directory that holds the task modules`);
  }
  if (!isDirectory) throw new InvalidValueError(`${where}: ${name} ${root} is not a directory; give the directory that holds the task modules`);
  return resolve(root);
}

/** A usage error's text in the CLI's words: without its `where: ` prefix (the CLI names the command already), `the "minEngines" option` said `--min-engines`. */
export function unprefixed(error: unknown, where: string): string {
  const message = (error as Error).message;
  const bare = message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
  return inFlagWords(bare, (name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

export const REDIS_INSTALL_HINT =
  'redis-server is not installed: install it (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
  'macOS: `brew install redis`; or see https://redis.io/docs/install/), or pass --redis URL of a running Redis';

/** The path of an executable on PATH, or null. */
export function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch { /* not here */ }
  }
  return null;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Stops it (SIGTERM, then SIGKILL) and removes its directory when it made one. */
  stop(): Promise<void>;
  /** Kills it and removes its directory now, synchronously (from an 'exit' handler). */
  kill(): void;
}

export interface RedisServerOptions {
  detached?: boolean;
  logFile?: string;
  /** Called as soon as each redis-server process exists, before it is ready: a caller that records it can stop it even if cut off. */
  onSpawn?: (pid: number, dir: string) => void;
}

/** Starts a private redis-server on 127.0.0.1 with maxmemory-policy noeviction. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = which('redis-server');
  if (binary === null) throw new ForkJoinError(ErrorCodes.REDIS_UNAVAILABLE, REDIS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'forkjoin-redis-'));
  let lastOutput = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--dir', dir, '--protected-mode', 'yes'];
    const out = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'a');
    const child = spawn(binary, args, { stdio: ['ignore', out, out], detached: options.detached === true });
    if (child.pid !== undefined) options.onSpawn?.(child.pid, dir);
    const up = await waitForRedis(child, port);
    if (up.ok) {
      if (options.detached === true) child.unref();
      child.stdout?.resume();
      child.stderr?.resume();
      return {
        url: `redis://127.0.0.1:${port}`, port, pid: child.pid ?? 0, dir,
        stop: async () => {
          await stopProcess(child.pid ?? 0, child);
          rmSync(dir, { recursive: true, force: true });
        },
        kill: () => {
          child.kill('SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    lastOutput = up.output;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new ForkJoinError(ErrorCodes.REDIS_UNAVAILABLE, `redis-server did not start: ${lastOutput.trim().slice(-500)}`);
}

function waitForRedis(child: ChildProcess, port: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ ok, output });
    };
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('exit', () => finish(false));
    const poll = setInterval(() => {
      const probe = createServer();
      // The port is taken once redis listens on it.
      probe.once('error', () => finish(true));
      probe.listen(port, '127.0.0.1', () => probe.close());
    }, 50);
    const timer = setTimeout(() => { child.kill('SIGKILL'); finish(false); }, 10_000);
  });
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone: true when it
 * was running (so that a caller reports what it stopped), false when it was already gone.
 */
export async function stopProcess(pid: number, child?: ChildProcess, graceMs = 5_000): Promise<boolean> {
  if (pid <= 0) return false;
  const alive = (): boolean => {
    if (child !== undefined) return child.exitCode === null && child.signalCode === null;
    try { process.kill(pid, 0); return true; } catch { return false; }
  };
  if (!alive()) return false;
  // One 'exit' listener for the whole wait, however long it polls.
  const exited = child === undefined ? null : new Promise<void>((r) => { child.once('exit', () => r()); });
  try { process.kill(pid, 'SIGTERM'); } catch { return false; }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, exited === null ? 50 : 100); })]);
    clearTimeout(timer);
  }
  if (alive()) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    if (exited !== null && alive()) await exited;
  }
  return true;
}

/** The forkjoin CLI, for spawning engines. */
export const cliPath = fileURLToPath(cliMain);

export interface EngineSpawnOptions {
  redis: string;
  name: string;
  cluster: string;
  workers?: number;
  processes?: boolean;
  root?: string;
  allowInline?: boolean;
  detached?: boolean;
  logFile?: string;
  /** Discard the engine's messages (Cluster.local). */
  quiet?: boolean;
  /** Node flags of the engine process. */
  execArgv?: readonly string[];
  /**
   * The engine exits with this process, even one killed (Cluster.local): it gets an IPC channel,
   * whose end tells it. `redisDir`: it then also stops the private redis-server and removes its folder.
   */
  withCaller?: { redisDir: string | null };
}

/** Starts `forkjoin engine` as a child process; the Redis URL goes by environment, out of `ps`. */
export function spawnEngine(o: EngineSpawnOptions): ChildProcess {
  const args = [...(o.execArgv ?? []), cliPath, 'engine', '--name', o.name, '--cluster', o.cluster];
  if (o.workers !== undefined) args.push('--workers', String(o.workers));
  if (o.processes === true) args.push('--processes');
  if (o.root !== undefined) args.push('--root', o.root);
  if (o.allowInline === true) args.push('--allow-inline');
  const out = o.logFile !== undefined ? openSync(o.logFile, 'a') : o.quiet === true ? 'ignore' : 'inherit';
  const env: NodeJS.ProcessEnv = { ...process.env, FORKJOIN_REDIS: o.redis };
  if (o.withCaller?.redisDir != null) env.FORKJOIN_PRIVATE_REDIS_DIR = o.withCaller.redisDir;
  const child = spawn(process.execPath, args, {
    stdio: o.withCaller === undefined ? ['ignore', out, out] : ['ignore', out, out, 'ipc'],
    detached: o.detached === true,
    env,
  });
  if (o.detached === true) child.unref();
  // The channel only tells the engine when this process is gone: it keeps nothing alive here.
  (child.channel as { unref?: () => void } | null | undefined)?.unref?.();
  return child;
}
