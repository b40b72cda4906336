/**
 * --halt: when to stop a run early, and the exit status it then reports, as GNU parallel's:
 * `now,fail=1` kills running jobs at the first failure and exits with that job's status;
 * `soon,fail=3` starts no more jobs after the third failure and exits with 3; `success=N`
 * exits with 0; `N%` counts against all the jobs of the run.
 */
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import { describeType } from '../task.js';

type When = 'now' | 'soon';
type Why = 'fail' | 'success' | 'done';

/** `never`, or `when,why=amount`: when `now` or `soon`, why `fail`, `success` or `done`, amount a count or a percentage. */
export type HaltSpec = 'never' | `${When},${Why}=${number}` | `${When},${Why}=${number}%`;

export interface HaltPolicy {
  readonly when: When;
  readonly why: Why;
  /** Jobs that must fail (succeed, be done) to halt; or undefined when `percent` is set. */
  readonly count: number | undefined;
  /** Percentage of all jobs, or undefined when `count` is set. */
  readonly percent: number | undefined;
}

const LEGACY: Readonly<Record<string, string>> = { 0: 'never', 1: 'soon,fail=1', 2: 'now,fail=1', '-1': 'soon,success=1', '-2': 'now,success=1' };

/** Parses a --halt value (GNU parallel's forms, the old numeric ones included); null for `never`. */
export function parseHalt(where: string, value: unknown): HaltPolicy | null {
  if (typeof value !== 'string') throw new InvalidTypeError(`${where}: the "halt" option must be a string such as 'now,fail=1'; received ${describeType(value)}`);
  let spec = LEGACY[value.trim()] ?? value.trim();
  if (/^\d+(\.\d+)?%$/.test(spec)) spec = `soon,fail=${spec}`;
  const bad = (): InvalidValueError => new InvalidValueError(
    `${where}: the "halt" option must be 'never' or WHEN,WHY=N or WHEN,WHY=N% (WHEN: now or soon; WHY: fail, success or done), e.g. 'now,fail=1'; received ${JSON.stringify(value)}`);
  if (spec === 'never') return null;
  const match = /^(now|soon),(fail|success|done)=(\d+(?:\.\d+)?)(%?)$/.exec(spec);
  if (match === null) throw bad();
  const amount = Number(match[3]);
  if (match[4] === '%') {
    if (!(amount > 0 && amount <= 100)) throw bad();
    return Object.freeze({ when: match[1] as When, why: match[2] as Why, count: undefined, percent: amount });
  }
  if (!Number.isInteger(amount) || amount < 1) throw bad();
  return Object.freeze({ when: match[1] as When, why: match[2] as Why, count: amount, percent: undefined });
}

/** The outcome of one job, as the halt policy and the exit status see it. */
export interface Outcome {
  failed: boolean;
  /** The exit status the job reports to a shell: its code, 128 + a signal, or -1 when timed out. */
  status: number;
  seq: number;
  command: string;
}

/** The job whose outcome halted the run. */
export type HaltedBy = { readonly seq: number; readonly command: string; readonly failed: boolean };

/** Counts outcomes; says when the policy asks to halt; computes the run's exit status. */
export class HaltTracker {
  readonly #policy: HaltPolicy | null;
  readonly #total: () => number;
  #failed = 0;
  #succeeded = 0;
  #started = 0;
  #exitStatus: number | undefined;
  #halted: When | null = null;
  #haltedBy: HaltedBy | null = null;

  constructor(policy: HaltPolicy | null, total: () => number) {
    this.#policy = policy;
    this.#total = total;
  }

  get failed(): number { return this.#failed; }
  get succeeded(): number { return this.#succeeded; }
  /** `now` or `soon` once the policy asked to halt. */
  get halted(): When | null { return this.#halted; }
  /** The job whose outcome halted the run, once it halted. */
  get haltedBy(): HaltedBy | null { return this.#haltedBy; }

  started(): void {
    this.#started++;
  }

  /** Counts a job's final outcome; returns `now` or `soon` when the run should halt. */
  record(outcome: Outcome): When | null {
    if (outcome.failed) this.#failed++;
    else this.#succeeded++;
    const policy = this.#policy;
    if (policy === null) return null;
    let reached: number | undefined;
    if (policy.why === 'fail' && outcome.failed) reached = this.#failed;
    else if (policy.why === 'success' && !outcome.failed) reached = this.#succeeded;
    else if (policy.why === 'done') reached = this.#failed + this.#succeeded;
    if (reached === undefined) return null;
    const threshold = policy.count ?? ((policy.percent ?? 100) / 100) * this.#total();
    if (reached < threshold) return null;
    if (policy.why === 'success') {
      this.#exitStatus = 0;
    } else if (this.#exitStatus === undefined) {
      if (policy.count === 1) this.#exitStatus = outcome.status & 0xff;
      else if (policy.percent !== undefined) this.#exitStatus = Math.ceil((this.#failed / Math.max(1, this.#total())) * 100);
      else this.#exitStatus = Math.min(this.#failed, 101);
    }
    if (this.#halted === null) {
      this.#halted = policy.when;
      this.#haltedBy = Object.freeze({ seq: outcome.seq, command: outcome.command, failed: outcome.failed });
    }
    return policy.when;
  }

  /** GNU parallel's exit status: failed jobs (101 for more than 100), or what --halt set. */
  exitStatus(): number {
    if (this.#exitStatus !== undefined) return this.#exitStatus;
    if (this.#policy?.percent !== undefined) return Math.ceil((this.#failed / Math.max(1, this.#started)) * 100);
    return Math.min(this.#failed, 101);
  }
}
