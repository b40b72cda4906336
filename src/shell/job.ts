/** One job of a run as the runner tracks it, and the record it becomes when it ends. */
import { constants } from 'node:os';
import { nowMs } from '../clock.js';
import { fromByteString, type InputValue } from './bytes.js';
import type { Stopping } from './groups.js';
import { OutputSink, type OutputBudget } from './output.js';
import type { CommandResult } from './result.js';
import type { CompiledTemplate } from './template.js';

export type StopReason = 'halt' | 'abort' | 'error' | 'return';

export interface Job {
  readonly seq: number;
  readonly values: readonly InputValue[];
  readonly bytes: readonly string[];
  id: number;
  slot: number;
  attempts: number;
  command: Buffer;
  commandText: string;
  state: 'queued' | 'running' | 'ended' | 'dropped';
  pid: number;
  startedAt: Date;
  t0: number;
  stdout: OutputSink;
  stderr: OutputSink;
  timer: NodeJS.Timeout | null;
  stopping: Stopping | null;
  killedBy: 'timeout' | StopReason | null;
  result: CommandResult | null;
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

export function newJob(seq: number, values: readonly InputValue[], bytes: readonly string[], budget: OutputBudget): Job {
  return {
    seq, values, bytes, id: 0, slot: 0, attempts: 0, command: Buffer.alloc(0), commandText: '', state: 'queued', pid: 0,
    startedAt: new Date(0), t0: 0, stdout: new OutputSink(budget), stderr: new OutputSink(budget),
    timer: null, stopping: null, killedBy: null, result: null,
  };
}

/** Fills in the job's command line: at its first try, and at each try when it shows its slot ({%}). */
export function fillCommand(job: Job, template: CompiledTemplate): void {
  if (job.attempts > 1 && !template.usesSlot) return;
  const command = template.expand(job.bytes, job.seq, job.slot);
  job.command = Buffer.from(command, 'latin1');
  job.commandText = fromByteString(command);
}

/** Readies a failed job to run again: its output so far is dropped. */
export function retryJob(job: Job, budget: OutputBudget): void {
  job.stdout.discard();
  job.stderr.discard();
  job.stdout = new OutputSink(budget);
  job.stderr = new OutputSink(budget);
  job.killedBy = null;
  job.stopping = null;
}

/** The record of a job that ended (`signal` as a number from the spawner); its output is final. */
export function resultOf(job: Job, exitCode: number | null, signal: number | null, durationMs: number): CommandResult {
  const timedOut = job.killedBy === 'timeout';
  return Object.freeze({
    seq: job.seq,
    slot: job.slot,
    values: job.values,
    command: job.commandText,
    commandBytes: job.command,
    exitCode,
    signal: signal === null ? null : (signalNames.get(signal) ?? null),
    timedOut,
    failed: exitCode !== 0 || timedOut,
    stdout: job.stdout.finish(),
    stderr: job.stderr.finish(),
    startedAt: job.startedAt,
    durationMs,
    attempts: job.attempts,
  });
}

/** Records that `job` began, as process group `pid`, at `at` (ms since the epoch, by the spawner's clock) when known. */
export function markStarted(job: Job, pid: number, at: number | undefined): void {
  job.state = 'running';
  job.pid = pid;
  job.startedAt = new Date(at ?? Date.now());
  job.t0 = nowMs() - (at === undefined ? 0 : Math.max(0, Date.now() - at));
}

/** Job slots ({%}, GNU parallel's job slot numbers): a job takes the lowest free one, from 1. */
export class JobSlots {
  readonly #used: boolean[] = [];

  take(): number {
    let i = this.#used.indexOf(false);
    if (i < 0) i = this.#used.push(false) - 1;
    this.#used[i] = true;
    return i + 1;
  }

  free(slot: number): void {
    this.#used[slot - 1] = false;
  }
}
