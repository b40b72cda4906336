/**
 * How a LocalExecutor calls a task in its own thread: a module's export, imported once, and a
 * map chunk's inputs one after another, as a worker's runtime would. A call made after an await
 * tells `hold` how long it held the thread, so that other tasks' timeouts do not count it.
 */
import { nowMs } from './clock.js';
import { callOutcome } from './errors.js';
import type { ChunkResult } from './pool/protocol.js';
import { TaskFlag } from './pool/protocol.js';
import { thrownHere } from './revive.js';
import { loadExport } from './task-loader.js';
import { isTaskRef, type Task, type TaskSpec } from './task.js';
import { untransferred } from './transfer.js';

export type Fn = (...args: unknown[]) => unknown;
/** `hold` learns how long a call made after an await held the thread. */
export type Hold = (ms: number) => void;
export type ChunkFn = (items: unknown, hold: Hold) => Promise<ChunkResult>;

const exportCache = new Map<string, Fn>();
/** The export `name` of `url`; a failure to load it is the call's outcome (it keeps its code), not the task's error. */
function loadOwn(url: string, name: string): Promise<Fn> {
  return loadExport(url, name).catch((thrown: unknown) => {
    throw thrown instanceof Error ? callOutcome(thrown) : thrown;
  });
}

/** Calls `fn`, telling `hold` how long it held the thread. */
function timedCall(fn: Fn, args: unknown[], hold: Hold): unknown {
  const t0 = nowMs();
  try {
    return fn(...args);
  } finally {
    hold(nowMs() - t0);
  }
}

export function callExport(spec: TaskSpec, args: unknown[], hold: Hold): unknown {
  const fn = exportCache.get(spec.key);
  if (fn !== undefined) return fn(...args);
  const [url, name] = [spec.code, spec.name];
  return loadOwn(url, name).then((loaded) => {
    exportCache.set(spec.key, loaded);
    return timedCall(loaded, args, hold);
  });
}

/** The task that runs a map chunk in this thread, as the worker runtime would. */
export function chunkTask(task: Task, spec: TaskSpec, flags: number): ChunkFn {
  return async (items, hold) => {
    const t0 = nowMs();
    const list = items as unknown[];
    const out: ChunkResult = { values: new Array(list.length), errors: [], ms: 0 };
    const fn = isTaskRef(task) ? await loadOwn(spec.code, spec.name) : (task as Fn);
    for (let i = 0; i < list.length; i++) {
      try {
        const args = flags & TaskFlag.Spread ? (list[i] as unknown[]) : [list[i]];
        out.values[i] = untransferred(await timedCall(fn, args, hold));
      } catch (thrown) {
        out.errors.push([i, thrownHere(thrown)]);
        if (!(flags & TaskFlag.Settle)) break;
      }
    }
    out.ms = nowMs() - t0;
    return out;
  };
}
