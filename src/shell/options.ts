/**
 * The options of runCommands (and so of `forkjoin run`): one documented interface, frozen
 * defaults, one normalizeRunOptions() that validates with the library's wording.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import { MAX_TIMER_MS, booleanOption, durationOption, integerOption, knownKeys, objectOption, progressOption, signalOption } from '../options.js';
import type { ProgressListener } from '../progress.js';
import { describeType } from '../task.js';
import { parseHalt, type HaltPolicy, type HaltSpec } from './halt.js';

export interface RunOptions {
  /**
   * Jobs running at once: a number, or as GNU parallel's -j takes it - `'50%'` of the cores,
   * `'+1'` / `'-1'` cores plus or minus one, `0` as many as possible (250).
   * @default os.availableParallelism()
   * @example { jobs: 4 } or { jobs: '200%' }
   */
  jobs?: number | string | undefined;
  /**
   * Yield results in input order (output printed in input order) instead of as jobs end.
   * @default false
   */
  keepOrder?: boolean | undefined;
  /**
   * Times a failed job is run again before its failure counts (only the last try is reported).
   * The CLI's `--retries N` means N tries in all, as GNU parallel's.
   * @default 0
   * @example { retries: 2 }
   */
  retries?: number | undefined;
  /**
   * Stop early: `'now,fail=1'` kills running jobs at the first failure, `'soon,fail=3'` starts no
   * more after the third, `'now,success=1'` stops at the first success, `'soon,fail=10%'`
   * counts against all jobs (so the input is read whole first). With keepOrder, a `now` halt also
   * drops the records waiting behind a job it kills (GNU parallel never prints them): what was
   * yielded is a head of the input order.
   * @default 'never'
   */
  halt?: HaltSpec | undefined;
  /**
   * Milliseconds a job may run, from its start; then its process group gets SIGTERM, then
   * SIGKILL after `killGraceMs`, and the job fails with `timedOut: true`. `'N%'` is N percent of
   * the median runtime of the jobs that succeeded so far.
   * @default Infinity
   * @example { timeout: 60_000 } or { timeout: '300%' }
   */
  timeout?: number | `${number}%` | undefined;
  /**
   * Milliseconds between SIGTERM and SIGKILL when a job is stopped (timeout, halt, abort).
   * @default 1000
   */
  killGraceMs?: number | undefined;
  /**
   * File to log every job to, in GNU parallel's format (Seq Host Starttime JobRuntime Send
   * Receive Exitval Signal Command); `'+path'` appends to it.
   * @example { joblog: 'jobs.log' }
   */
  joblog?: string | undefined;
  /** Skip the jobs the joblog lists (the input and template must be unchanged). @default false */
  resume?: boolean | undefined;
  /** Skip the jobs the joblog lists as succeeded; run the failed ones again. @default false */
  resumeFailed?: boolean | undefined;
  /** Run nothing: yield each job's record with its command (exit code 0; slots 1 to `jobs` in turn). @default false */
  dryRun?: boolean | undefined;
  /**
   * The shell that runs each command as `SHELL -c COMMAND` (a Bourne shell: values are quoted
   * for one). A path, or a name looked up in PATH.
   * @default '/bin/sh'
   */
  shell?: string | undefined;
  /**
   * Working directory of the jobs, checked when runCommands() is called: one that does not
   * exist, is not a directory or cannot be entered is a RangeError with FJ_INVALID_ARG_VALUE.
   * @default process.cwd()
   * @example { cwd: '/srv/data' }
   */
  cwd?: string | undefined;
  /** Environment of the jobs. @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
  /** Aborting stops the run: running jobs' process groups get SIGTERM, then SIGKILL; the iterator rejects with FJ_ABORTED. */
  signal?: AbortSignal | undefined;
  /** `true` draws a progress bar with ETA on stderr (when it is a terminal); a function receives progress events. */
  progress?: boolean | ProgressListener | undefined;
  /**
   * Bytes of output held in memory across all jobs not yet yielded; beyond it output goes to
   * temporary files, so memory stays bounded whatever the jobs print.
   * @default 16 MiB
   */
  spillBytes?: number | undefined;
  /** Directory for those temporary files. @default os.tmpdir() */
  tmpdir?: string | undefined;
}

export interface NormalizedRunOptions {
  jobs: number;
  keepOrder: boolean;
  retries: number;
  halt: HaltPolicy | null;
  timeoutMs: number;
  timeoutPercent: number | undefined;
  killGraceMs: number;
  joblog: { path: string; append: boolean } | null;
  resume: 'none' | 'all' | 'succeeded';
  dryRun: boolean;
  shell: string;
  cwd: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
  signal: AbortSignal | undefined;
  progress: boolean | ProgressListener;
  spillBytes: number;
  tmpdir: string;
}

/** What -j 0 ("as many as possible") means. */
export const MANY_JOBS = 250;

export const runDefaults = Object.freeze({
  keepOrder: false,
  retries: 0,
  killGraceMs: 1_000,
  dryRun: false,
  shell: '/bin/sh',
  spillBytes: 16 * 1024 * 1024,
});

const KEYS = ['jobs', 'keepOrder', 'retries', 'halt', 'timeout', 'killGraceMs', 'joblog', 'resume', 'resumeFailed', 'dryRun',
  'shell', 'cwd', 'env', 'signal', 'progress', 'spillBytes', 'tmpdir'];

/** Jobs at once from -j's forms: N, N%, +N, -N, 0 (as many as possible). */
export function parseJobs(where: string, value: unknown, cores = availableParallelism()): number {
  if (typeof value === 'number') {
    const n = integerOption(where, 'jobs', value, 0);
    return n === 0 ? MANY_JOBS : n;
  }
  if (typeof value !== 'string') throw new InvalidTypeError(`${where}: the "jobs" option must be a number or a string such as '50%', '+1' or '-1'; received ${describeType(value)}`);
  const text = value.trim();
  let jobs: number | undefined;
  let match: RegExpExecArray | null;
  if ((match = /^\+(\d+)$/.exec(text)) !== null) jobs = cores + Number(match[1]);
  else if ((match = /^-(\d+)$/.exec(text)) !== null) jobs = cores - Number(match[1]);
  else if ((match = /^(\d+(?:\.\d+)?)%$/.exec(text)) !== null) jobs = (cores * Number(match[1])) / 100;
  else if (/^\d+$/.test(text)) jobs = Number(text) === 0 ? MANY_JOBS : Number(text);
  if (jobs === undefined) {
    throw new InvalidValueError(`${where}: the "jobs" option must be N, N%, +N, -N or 0 (as many as possible); received ${JSON.stringify(value)}`);
  }
  return Math.max(1, Math.ceil(jobs));
}

function isExecutable(path: string): boolean {
  try {
    // A directory passes the X_OK check (it can be entered), but it cannot be run.
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An executable's path: `name` itself when it holds a slash, else the first match in PATH. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** What keeps `path` from being a directory jobs can run in ("does not exist", ...), or null when nothing does. */
export function directoryProblem(path: string): string | null {
  try {
    if (!statSync(path).isDirectory()) return 'is not a directory';
    accessSync(path, constants.X_OK);
    return null;
  } catch (error) {
    switch ((error as NodeJS.ErrnoException).code) {
      case 'ENOENT': return 'does not exist';
      case 'ENOTDIR': return 'does not exist (a part of its path is not a directory)';
      case 'EACCES': case 'EPERM': return 'cannot be entered (permission denied)';
      default: return `cannot be used (${(error as Error).message})`;
    }
  }
}

function directoryOption(where: string, name: string, value: unknown): string {
  const path = stringOption(where, name, value);
  const problem = directoryProblem(path);
  if (problem !== null) throw new InvalidValueError(`${where}: the "${name}" option must name a directory the jobs can run in; ${JSON.stringify(path)} ${problem}`);
  return path;
}

function stringOption(where: string, name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidTypeError(`${where}: the "${name}" option must be a string; received ${describeType(value)}`);
  if (value === '') throw new InvalidValueError(`${where}: the "${name}" option must not be empty`);
  return value;
}

export function normalizeRunOptions(where: string, options: unknown): NormalizedRunOptions {
  const o = objectOption(where, options) as RunOptions & Record<string, unknown>;
  knownKeys(where, o, KEYS);
  const env = o.env === undefined ? undefined : (objectOption(where, o.env) as NodeJS.ProcessEnv);

  let timeoutMs = Number.POSITIVE_INFINITY;
  let timeoutPercent: number | undefined;
  if (typeof o.timeout === 'string') {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(o.timeout.trim());
    if (match === null || Number(match[1]) <= 0) {
      throw new InvalidValueError(`${where}: the "timeout" option must be milliseconds or 'N%' of the median runtime; received ${JSON.stringify(o.timeout)}`);
    }
    timeoutPercent = Number(match[1]);
  } else if (o.timeout !== undefined) {
    timeoutMs = durationOption(where, 'timeout', o.timeout);
  }

  let joblog: NormalizedRunOptions['joblog'] = null;
  if (o.joblog !== undefined) {
    const text = stringOption(where, 'joblog', o.joblog);
    joblog = text.startsWith('+') && text.length > 1 ? { path: text.slice(1), append: true } : { path: text, append: false };
  }
  const resumeAll = o.resume === undefined ? false : booleanOption(where, 'resume', o.resume);
  const resumeFailed = o.resumeFailed === undefined ? false : booleanOption(where, 'resumeFailed', o.resumeFailed);
  if ((resumeAll || resumeFailed) && joblog === null) {
    throw new InvalidValueError(`${where}: the "resume" and "resumeFailed" options need the "joblog" option, the log they read`);
  }

  const shellName = o.shell === undefined ? runDefaults.shell : stringOption(where, 'shell', o.shell);
  const shell = findExecutable(shellName, env ?? process.env);
  if (shell === null) throw new InvalidValueError(`${where}: the "shell" option names no executable file: ${JSON.stringify(shellName)}`);

  const progress = o.progress === undefined ? false : progressOption<ProgressListener>(where, o.progress);

  let killGraceMs: number = runDefaults.killGraceMs;
  if (o.killGraceMs !== undefined) {
    if (typeof o.killGraceMs !== 'number') throw new InvalidTypeError(`${where}: the "killGraceMs" option must be a number; received ${describeType(o.killGraceMs)}`);
    if (!(o.killGraceMs >= 0) || o.killGraceMs > MAX_TIMER_MS) throw new InvalidValueError(`${where}: the "killGraceMs" option must be a number of milliseconds from 0 to ${MAX_TIMER_MS}; received ${o.killGraceMs}`);
    killGraceMs = o.killGraceMs;
  }

  return {
    jobs: o.jobs === undefined ? availableParallelism() : parseJobs(where, o.jobs),
    keepOrder: o.keepOrder === undefined ? runDefaults.keepOrder : booleanOption(where, 'keepOrder', o.keepOrder),
    retries: o.retries === undefined ? runDefaults.retries : integerOption(where, 'retries', o.retries, 0),
    halt: o.halt === undefined ? null : parseHalt(where, o.halt),
    timeoutMs,
    timeoutPercent,
    killGraceMs,
    joblog,
    resume: resumeFailed ? 'succeeded' : resumeAll ? 'all' : 'none',
    dryRun: o.dryRun === undefined ? runDefaults.dryRun : booleanOption(where, 'dryRun', o.dryRun),
    shell,
    cwd: o.cwd === undefined ? undefined : directoryOption(where, 'cwd', o.cwd),
    env,
    signal: signalOption(where, o.signal),
    progress,
    spillBytes: o.spillBytes === undefined ? runDefaults.spillBytes : integerOption(where, 'spillBytes', o.spillBytes, 0),
    tmpdir: o.tmpdir === undefined ? tmpdir() : stringOption(where, 'tmpdir', o.tmpdir),
  };
}
