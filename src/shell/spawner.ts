/**
 * What starts a job's process. The runner asks for jobs by id and hears back when each
 * starts, what it prints and how it ends. Two implementations behind one interface: a small
 * Perl helper (fast - forking the large Node process costs more than the job itself), and
 * Node's child_process (used when Perl is missing, or with FORKJOIN_SPAWNER=node).
 *
 * Either way, every job runs as `SHELL -c COMMAND` in a process group of its own (so a signal
 * reaches its grandchildren too), with stdin from /dev/null, and "ends" once it has exited
 * and closed its stdout and stderr.
 */
import { findExecutable } from './options.js';

export interface SpawnerEvents {
  /** The job's process started; `pid` is also its process group id; `at` epoch ms, if the spawner knows it. */
  started(id: number, pid: number, at: number | undefined): void;
  /** Output of the job: `stream` 1 is stdout, 2 stderr. */
  output(id: number, stream: 1 | 2, chunk: Buffer): void;
  /**
   * The job exited and its output is complete; `at` is when it exited (epoch ms) and `groupLeft`
   * whether its process group still had members then (a zombie counts), when the spawner knows.
   */
  ended(id: number, exitCode: number | null, signal: number | null, at: number | undefined, groupLeft: boolean | undefined): void;
  /** A queued job was dropped by cancelQueued() before it started. */
  dropped(id: number): void;
  /** The spawner cannot go on (a fork failed, the helper died). */
  failed(error: Error): void;
}

export interface SpawnerOptions {
  shell: string;
  cwd: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Jobs running at once; more are queued in the spawner. */
  concurrency: number;
}

export interface Spawner {
  /** Queues a job: `command` is the command line, as bytes. `first` puts it ahead of the queue (a retry). */
  run(id: number, command: Buffer, first: boolean): void;
  /** Sends `signal` to a started job's whole process group. */
  kill(id: number, signal: number): void;
  /** Drops every queued job that has not started (each gets `dropped`). */
  cancelQueued(): void;
  /** Stops the spawner once every job has ended. */
  close(): Promise<void>;
}

/** Which spawner: FORKJOIN_SPAWNER=node|perl, else Perl when it is installed. */
export function perlPath(): string | null {
  const choice = process.env.FORKJOIN_SPAWNER;
  if (choice === 'node') return null;
  return findExecutable('/usr/bin/perl') ?? findExecutable('perl');
}
