/**
 * What starts a job's process. The runner asks for jobs by id and hears back when each
 * starts, what it prints and how it ends. Two implementations behind one interface: a small
 * helper process, Python (posix_spawn) or Perl (fork) - fast, as forking the large Node
 * process costs more than the job itself - and Node's child_process (used when neither is
 * installed, or with FORKJOIN_SPAWNER=node).
 *
 * Either way, every job runs as `SHELL -c COMMAND` in a process group of its own (so a signal
 * reaches its grandchildren too), with stdin from /dev/null, and "ends" once it has exited
 * and closed its stdout and stderr.
 */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { directoryProblem, findExecutable } from './options.js';

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
  /**
   * A job could not start for want of file handles, processes or memory (`why`) while others
   * ran: it waits, first in line, and from now on at most `max` jobs run at once.
   */
  limited(max: number, why: string): void;
  /** The spawner cannot go on (a fork failed with no job running, the helper died). */
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

/** Errors of a start that may succeed once a running job ends and frees what it holds. */
export const TRANSIENT_START_ERRORS: ReadonlySet<unknown> = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/**
 * The `limited` event of a run asking for `asked` jobs at once: a process warning
 * (FORKJOIN_JOBS_LIMITED) each time the limit goes lower; the run goes on with fewer jobs.
 */
export function warnWhenLimited(asked: number): (max: number, why: string) => void {
  let warned = asked;
  return (max, why) => {
    if (max >= warned) return;
    warned = max;
    process.emitWarning(`only ${max} of the ${asked} jobs asked for can run at once here (${why}); the others wait their turn. `
      + 'Raise the limit on open files (ulimit -n) or processes (ulimit -u) to run more', { code: 'FORKJOIN_JOBS_LIMITED' });
  };
}

/** The error of a spawner that cannot go on: one code whichever spawner it is. */
export function spawnError(message: string, cause?: unknown): ForkJoinError {
  return new ForkJoinError(ErrorCodes.SHELL_SPAWN, message, cause === undefined ? {} : { cause });
}

/**
 * The error for a start that failed because the jobs' directory is gone or is no directory
 * (runCommands() checked it, but it may have changed since); null when the directory is fine.
 */
export function cwdError(cwd: string | undefined, cause?: unknown): ForkJoinError | null {
  const problem = cwd === undefined ? null : directoryProblem(cwd);
  return problem === null ? null : spawnError(`cannot start jobs in ${JSON.stringify(cwd)} (the "cwd" option): it ${problem}`, cause);
}

/** A helper process that starts jobs for the runner. */
export interface Helper {
  kind: 'python' | 'perl';
  path: string;
}

const found = new Map<string, string | null>();
function installed(...candidates: string[]): string | null {
  const key = `${candidates.join('\0')}\0${process.env.PATH ?? ''}`;
  if (!found.has(key)) found.set(key, candidates.reduce<string | null>((path, name) => path ?? findExecutable(name), null));
  return found.get(key) ?? null;
}

/**
 * Which helper starts the jobs: FORKJOIN_SPAWNER=python|perl|node chooses; else, on Linux,
 * Python 3 (glibc's posix_spawn: the cheapest start), else Perl, when installed; null means
 * Node's own child_process. Elsewhere Perl comes first (macOS's /usr/bin/python3 may be a
 * stub that offers to install developer tools).
 */
export function chooseHelper(): Helper | null {
  return helperCandidates()[0] ?? null;
}

/** The helpers to try in turn (a later one when an earlier one cannot start); empty for none. */
export function helperCandidates(): Helper[] {
  const choice = process.env.FORKJOIN_SPAWNER;
  if (choice === 'node') return [];
  const out: Helper[] = [];
  const pythonFirst = choice === 'python' || (choice !== 'perl' && process.platform === 'linux');
  const python = pythonFirst ? installed('/usr/bin/python3', 'python3') : null;
  if (python !== null) out.push({ kind: 'python', path: python });
  const perl = choice === 'python' ? null : installed('/usr/bin/perl', 'perl');
  if (perl !== null) out.push({ kind: 'perl', path: perl });
  return out;
}
