/**
 * record(executor): listens to an executor's events until stop(), and keeps what ran, where,
 * when and how it ended, for a program to read or for a self-contained HTML report (report.ts).
 */
import { fsPromises } from '../builtins.js';
import { InvalidTypeError } from '../errors.js';
import { integerOption, knownKeys, objectOption } from '../options.js';
import type { ExecutorStats } from '../stats.js';
import { epochMs, type ObservableExecutor, type TaskEndEvent, type WorkerExitEvent, type WorkerExitReason, type WorkerStartEvent } from './events.js';
import { renderReport } from './report.js';

export interface RecordOptions {
  /**
   * Tasks kept one by one; past it, tasks are only counted (in `counts` and `byTask`).
   * @default 200_000
   */
  maxTasks?: number | undefined;
}

/** A worker's life, as far as the recording saw it. */
export interface WorkerRecord {
  worker: number;
  /** When it started, or undefined when it started before the recording did. */
  start?: number | undefined;
  /** When it exited, and why; undefined while it was still alive at stop(). */
  end?: number | undefined;
  reason?: WorkerExitReason | undefined;
}

/** What one task did, summed over its calls. */
export interface TaskSummary {
  task: string;
  calls: number;
  failed: number;
  inputs: number;
  /** Milliseconds its calls ran, in all, and the longest. */
  totalMs: number;
  maxMs: number;
}

export interface RunRecord {
  /** The executor's class: ThreadPool, ProcessPool, LocalExecutor. */
  executor: string;
  /** When the recording started and stopped (epoch ms). */
  start: number;
  end: number;
  /** The calls that ended, in the order they ended (the first `maxTasks`); a map chunk is one call. */
  tasks: TaskEndEvent[];
  /** Calls that ended but were not kept in `tasks` (past `maxTasks`). */
  dropped: number;
  workers: WorkerRecord[];
  counts: { calls: number; failed: number; inputs: number; workersStarted: number; workersExited: number };
  byTask: TaskSummary[];
  /** The executor's stats() when the recording stopped (or was read). */
  stats: ExecutorStats;
}

export interface Recorder {
  /** Stops listening and returns the record (the same record each time it is called again). */
  stop(): RunRecord;
  /** The record so far (or the one stop() returned), without stopping. */
  record(): RunRecord;
  /** A self-contained HTML report of the record (see the README for what it draws). */
  html(): string;
  /** Writes html() to `path`. */
  save(path: string): Promise<void>;
}

/** Listens to `executor`'s task and worker events until stop(); for a report of a run, as Dask's performance_report. */
export function record(executor: ObservableExecutor, options?: RecordOptions): Recorder {
  const where = 'record()';
  if (typeof (executor as Partial<ObservableExecutor> | null)?.on !== 'function') {
    throw new InvalidTypeError(`${where}: expected a ThreadPool, ProcessPool or LocalExecutor (an executor with on() and off()); a Cluster emits no events yet`);
  }
  const o = objectOption(where, options) as RecordOptions & Record<string, unknown>;
  knownKeys(where, o, ['maxTasks']);
  const maxTasks = o.maxTasks === undefined ? 200_000 : integerOption(where, 'maxTasks', o.maxTasks, 0);
  const start = epochMs();
  const tasks: TaskEndEvent[] = [];
  let dropped = 0;
  const counts = { calls: 0, failed: 0, inputs: 0, workersStarted: 0, workersExited: 0 };
  const byTask = new Map<string, TaskSummary>();
  const workers = new Map<number, WorkerRecord>();
  const lane = (worker: number): WorkerRecord => {
    let w = workers.get(worker);
    if (w === undefined) workers.set(worker, (w = { worker }));
    return w;
  };

  const onEnd = (e: TaskEndEvent): void => {
    counts.calls++;
    counts.inputs += e.inputs;
    if (!e.ok) counts.failed++;
    let sum = byTask.get(e.task);
    if (sum === undefined) byTask.set(e.task, (sum = { task: e.task, calls: 0, failed: 0, inputs: 0, totalMs: 0, maxMs: 0 }));
    sum.calls++;
    sum.inputs += e.inputs;
    if (!e.ok) sum.failed++;
    sum.totalMs += e.ms;
    if (e.ms > sum.maxMs) sum.maxMs = e.ms;
    lane(e.worker);
    if (tasks.length < maxTasks) tasks.push(e);
    else dropped++;
  };
  const onWorkerStart = (e: WorkerStartEvent): void => {
    counts.workersStarted++;
    lane(e.worker).start = e.at;
  };
  const onWorkerExit = (e: WorkerExitEvent): void => {
    counts.workersExited++;
    const w = lane(e.worker);
    w.end = e.at;
    w.reason = e.reason;
  };
  executor.on('taskEnd', onEnd).on('workerStart', onWorkerStart).on('workerExit', onWorkerExit);

  let stopped: RunRecord | null = null;
  const snapshot = (): RunRecord => stopped ?? {
    executor: executor.constructor.name,
    start,
    end: epochMs(),
    tasks: tasks.slice(),
    dropped,
    workers: [...workers.values()].sort((a, b) => a.worker - b.worker).map((w) => ({ ...w })),
    counts: { ...counts },
    byTask: [...byTask.values()].map((s) => ({ ...s })).sort((a, b) => b.totalMs - a.totalMs),
    stats: executor.stats(),
  };
  return {
    stop() {
      if (stopped === null) {
        executor.off('taskEnd', onEnd).off('workerStart', onWorkerStart).off('workerExit', onWorkerExit);
        stopped = snapshot();
      }
      return stopped;
    },
    record: snapshot,
    html: () => renderReport(snapshot()),
    save: (path) => fsPromises().writeFile(path, renderReport(snapshot())),
  };
}
