/** Jobs started with Node's child_process: used when Perl is missing (or FORKJOIN_SPAWNER=node). */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { childProcess } from '../builtins.js';
import { TRANSIENT_START_ERRORS, cwdError, spawnError, type Spawner, type SpawnerEvents, type SpawnerOptions } from './spawner.js';

let utf8: InstanceType<typeof TextDecoder> | null = null;

/**
 * How many jobs the open-file limit leaves room for (Linux; elsewhere Infinity; 0 or less for none): each job holds
 * two sockets, and four while it starts. Node keeps the sockets of a start that failed for want
 * of file handles, so this start should not fail that way in the first place.
 */
function jobsFileHandlesAllow(): number {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft === undefined) return Number.POSITIVE_INFINITY;
    return Math.floor((Number(soft) - readdirSync('/proc/self/fd').length - 8) / 2) - 1;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
const signalNumbers = constants.signals as Readonly<Record<string, number>>;

interface Queued {
  id: number;
  command: Buffer;
}

export class NodeSpawner implements Spawner {
  readonly #events: SpawnerEvents;
  readonly #options: SpawnerOptions;
  readonly #queue: Queued[] = [];
  readonly #running = new Map<number, ChildProcess>();
  #limit: number;
  #failed = false;

  constructor(events: SpawnerEvents, options: SpawnerOptions) {
    this.#events = events;
    this.#options = options;
    this.#limit = options.concurrency;
    const room = jobsFileHandlesAllow();
    // With no room at all, the first start fails and says why.
    if (room >= 1 && room < this.#limit) {
      this.#limit = room;
      queueMicrotask(() => events.limited(room, `the limit on open files, ulimit -n, leaves room for ${room}`));
    }
  }

  run(id: number, command: Buffer, first: boolean): void {
    if (first) this.#queue.unshift({ id, command });
    else this.#queue.push({ id, command });
    this.#pump();
  }

  kill(id: number, signal: number): void {
    const child = this.#running.get(id);
    if (child?.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch { /* the group is gone */ }
    if (signal === signalNumbers.SIGKILL) {
      // Whatever escaped the group may hold the pipes: stop waiting for them once the job exits
      // (now, when it already has).
      const stopReading = (): void => { child.stdout?.destroy(); child.stderr?.destroy(); };
      if (child.exitCode !== null || child.signalCode !== null) stopReading();
      else child.once('exit', stopReading);
    }
  }

  cancelQueued(): void {
    for (const { id } of this.#queue.splice(0)) this.#events.dropped(id);
  }

  async close(): Promise<void> {
    // Nothing to stop: each job's process is reaped by Node.
  }

  #pump(): void {
    while (!this.#failed && this.#running.size < this.#limit && this.#queue.length > 0) {
      const next = this.#queue.shift() as Queued;
      this.#start(next.id, next.command);
    }
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#events.failed(error);
  }

  /**
   * A job did not start. For want of file handles or processes while others run, it waits for
   * them, first in line, and fewer run from now on; else for want of its directory (Node says
   * only "spawn /bin/sh ENOENT"), or otherwise, the spawner cannot go on.
   */
  #startFailed(queued: Queued, error: unknown): void {
    if (this.#running.size > 0 && TRANSIENT_START_ERRORS.has((error as NodeJS.ErrnoException | null)?.code)) {
      this.#queue.unshift(queued);
      this.#limit = this.#running.size;
      this.#events.limited(this.#limit, `cannot start a job: ${(error as Error).message}`);
      return;
    }
    this.#fail(cwdError(this.#options.cwd, error) ?? spawnError(`cannot start a job: ${(error as Error).message}`, error));
  }

  #start(id: number, command: Buffer): void {
    let text: string;
    try {
      text = (utf8 ??= new TextDecoder('utf-8', { fatal: true })).decode(command);
    } catch (error) {
      this.#fail(spawnError('a command line holds bytes that are not UTF-8, which Node\'s child_process cannot pass on; install perl (the fast spawner passes any bytes)', error));
      return;
    }
    const { shell, cwd, env } = this.#options;
    const at = Date.now();
    let child: ChildProcess;
    try {
      child = childProcess().spawn(shell, ['-c', text], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // Some failures (E2BIG: a command line too long) are thrown, not emitted.
      this.#startFailed({ id, command }, error);
      return;
    }
    child.on('error', (error) => this.#startFailed({ id, command }, error));
    if (child.pid === undefined) return;
    const pid = child.pid;
    this.#running.set(id, child);
    queueMicrotask(() => this.#events.started(id, pid, at));
    child.stdout?.on('data', (chunk: Buffer) => this.#events.output(id, 1, Buffer.from(chunk)));
    child.stderr?.on('data', (chunk: Buffer) => this.#events.output(id, 2, Buffer.from(chunk)));
    let exitedAt: number | undefined;
    child.on('exit', () => { exitedAt = Date.now(); });
    child.on('close', (code, signal) => {
      this.#running.delete(id);
      this.#events.ended(id, signal === null ? code : null, signal === null ? null : (signalNumbers[signal] ?? null), exitedAt, undefined);
      this.#pump();
    });
  }
}
