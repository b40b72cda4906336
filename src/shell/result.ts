/** What a run yields: one record per job, a failure being the same record with the facts. */
import type { InputValue } from './bytes.js';
import type { HaltedBy } from './halt.js';
import type { JobOutput } from './output.js';

export interface CommandResult {
  /** The job's sequence number, from 1 in input order: GNU parallel's {#}. */
  readonly seq: number;
  /** The job slot it ran in, from 1 to `jobs`: {%}. */
  readonly slot: number;
  /** Its input values, one per input source ({1}, {2}, ...), as given. */
  readonly values: readonly InputValue[];
  /** The command line it ran (`SHELL -c` this), values quoted. */
  readonly command: string;
  /** The same command line as the bytes the shell got: values given as bytes that are not UTF-8 are kept as they were. */
  readonly commandBytes: Buffer;
  /** Exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, e.g. 'SIGTERM', or null. */
  readonly signal: NodeJS.Signals | null;
  /** Whether it outlived `timeout` (its process group was then stopped). */
  readonly timedOut: boolean;
  /** Exit code not 0, a signal, or a timeout. */
  readonly failed: boolean;
  /** Everything it wrote to stdout (read with toString(), toBuffer() or chunks()). */
  readonly stdout: JobOutput;
  /** Everything it wrote to stderr. */
  readonly stderr: JobOutput;
  /** When it started (its last try, with retries). */
  readonly startedAt: Date;
  /** How long it ran, in milliseconds. */
  readonly durationMs: number;
  /** Tries it took: 1 unless `retries` ran it again. */
  readonly attempts: number;
}

export interface RunSummary {
  /** Jobs that ran to the end (with keepOrder, a `now` halt drops the records of some of them: see `halt`). */
  readonly jobs: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Jobs skipped because the joblog lists them (`resume`, `resumeFailed`). */
  readonly skipped: number;
  /** `now` or `soon` when `halt` stopped the run early, else null. */
  readonly halted: 'now' | 'soon' | null;
  /** The job whose outcome made `halt` stop the run (its `seq`, its command, whether it failed), else null. */
  readonly haltedBy: HaltedBy | null;
  /**
   * GNU parallel's exit status: 0 when every job succeeded, else the number of failed jobs
   * (101 for more than 100), or what `halt` decided (a `fail=1` halt: the failing job's status).
   */
  readonly exitCode: number;
}
