/**
 * The processes a worker thread's tasks started. A ProcessPool child owns a process group, and
 * what its tasks start goes with it; a thread shares its process's group, so a ThreadPool finds
 * them by the thread instead: Linux lists each thread's children in /proc, and the thread's OS id
 * is published in a shared word when it starts. Elsewhere (no /proc) nothing is found.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Where a worker thread finds, in `workerData`, the word it writes its OS id to. */
export const OS_THREAD_KEY = 'forkjoin.osThread';

let procIsOurs: boolean | undefined;
/**
 * Whether /proc shows this process by the pid it knows itself by. In another PID namespace
 * (unshare without its own /proc mounted) the numbers there are not ones process.kill() can
 * use: nothing is looked up then, rather than something signalled by mistake.
 */
function procUsable(): boolean {
  if (procIsOurs === undefined) {
    try {
      procIsOurs = readlinkSync('/proc/self') === String(process.pid);
    } catch {
      procIsOurs = false;
    }
  }
  return procIsOurs;
}

/** The OS id of the calling thread, or 0 where /proc does not say. */
export function ownThreadId(): number {
  if (!procUsable()) return 0;
  try {
    const id = Number(/\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    return Number.isSafeInteger(id) ? id : 0;
  } catch {
    return 0;
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'latin1').split(' ').filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

/** The process group of `pid` ('self' for this process), or -1 once it is gone. */
function groupOf(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // After the command's closing parenthesis: state, ppid, pgrp.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return -1;
  }
}

/**
 * The processes that thread `tid` of this process started, and theirs, still running in this
 * process's group: one started detached (a group of its own) is left alone, with what it started.
 */
export function startedBy(tid: number): number[] {
  if (tid <= 0 || !procUsable()) return [];
  const group = groupOf('self');
  const found = new Set<number>();
  let next = readPids(`/proc/self/task/${tid}/children`);
  while (next.length > 0) {
    const children: number[] = [];
    for (const pid of next) {
      if (found.has(pid) || groupOf(pid) !== group) continue;
      found.add(pid);
      let tasks: string[] = [];
      try {
        tasks = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const task of tasks) children.push(...readPids(`/proc/${pid}/task/${task}/children`));
    }
    next = children;
  }
  return [...found];
}

/** Whether thread `tid` of this process still runs (true where /proc cannot say). */
export function threadRuns(tid: number): boolean {
  if (tid <= 0 || !procUsable()) return true;
  try {
    readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    return true;
  } catch {
    return false;
  }
}

/** Kills what thread `tid` started and left running (startedBy). */
export function killStartedBy(tid: number): void {
  killAll(startedBy(tid));
}

/** SIGKILL to each of `pids` still there. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
