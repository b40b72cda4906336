/**
 * Process groups: each job runs in one, so a signal reaches its grandchildren too. Stopping a
 * job is SIGTERM to its group now and SIGKILL after a grace period - ended early once nothing
 * of the group is left alive.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

export const SIGTERM = constants.signals.SIGTERM;
export const SIGSTOP = constants.signals.SIGSTOP;
export const SIGCONT = constants.signals.SIGCONT;
export const SIGKILL = constants.signals.SIGKILL;

/**
 * Whether a live process is left in group `pgid`. A zombie does not count: an orphan's zombie
 * stays until init reaps it (some container inits never do), and no signal can touch it.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 0x39) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3); // state, ppid, pgrp
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

export function signalGroup(pgid: number, signal: number): void {
  try {
    process.kill(-pgid, signal);
  } catch { /* the group is gone */ }
}

/** What stop() returns: say when the job's own process has ended. */
export interface Stopping {
  /** The job ended: its grace period now lasts only while its group has live members. */
  ended(): void;
}

/** Stops groups with a grace period; counts the stops still pending and reports when one settles. */
export class GroupStopper {
  readonly #graceMs: number;
  readonly #settled: () => void;
  #pending = 0;

  constructor(graceMs: number, settled: () => void) {
    this.#graceMs = graceMs;
    this.#settled = settled;
  }

  /** Stops whose grace period has not ended. */
  get pending(): number {
    return this.#pending;
  }

  /** Stops a job's group: `term()` now; after the grace period `kill()` and SIGKILL to the group. */
  stop(pgid: number, term: () => void, kill: () => void): Stopping {
    term();
    this.#pending++;
    let done = false;
    let watch: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (watch !== null) clearInterval(watch);
      this.#pending--;
      this.#settled();
    };
    const timer = setTimeout(() => {
      kill();
      signalGroup(pgid, SIGKILL);
      finish();
    }, this.#graceMs);
    return {
      ended: () => {
        if (done || watch !== null) return;
        if (!groupAlive(pgid)) finish();
        else watch = setInterval(() => { if (!groupAlive(pgid)) finish(); }, 20);
      },
    };
  }

  /** A group an ended job left running: SIGTERM, then SIGKILL if it is still there after the grace. */
  stopGroup(pgid: number): void {
    if (!groupAlive(pgid)) return;
    this.stop(pgid, () => signalGroup(pgid, SIGTERM), () => {}).ended();
  }
}
