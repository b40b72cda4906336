/** Jobs started with Node's child_process: used when Perl is missing (or FORKJOIN_SPAWNER=node). */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { childProcess } from '../builtins.js';
import { cwdError, spawnError, type Spawner, type SpawnerEvents, type SpawnerOptions } from './spawner.js';

let utf8: InstanceType<typeof TextDecoder> | null = null;
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
  #failed = false;

  constructor(events: SpawnerEvents, options: SpawnerOptions) {
    this.#events = events;
    this.#options = options;
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
      // Whatever escaped the group may hold the pipes: stop waiting for them once the job exits.
      child.once('exit', () => { child.stdout?.destroy(); child.stderr?.destroy(); });
    }
  }

  cancelQueued(): void {
    for (const { id } of this.#queue.splice(0)) this.#events.dropped(id);
  }

  async close(): Promise<void> {
    // Nothing to stop: each job's process is reaped by Node.
  }

  #pump(): void {
    while (!this.#failed && this.#running.size < this.#options.concurrency && this.#queue.length > 0) {
      const next = this.#queue.shift() as Queued;
      this.#start(next.id, next.command);
    }
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#events.failed(error);
  }

  /** A job did not start: for want of its directory (Node says only "spawn /bin/sh ENOENT"), or otherwise. */
  #startFailed(error: unknown): void {
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
      this.#startFailed(error);
      return;
    }
    child.on('error', (error) => this.#startFailed(error));
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
