/**
 * runCommands and the iterator it returns. The arguments are checked here, at once; the
 * runner itself (spawner, output spill, joblog) loads when the run is first iterated, so
 * `import 'forkjoin'` does not pay for it.
 */
import { InvalidTypeError } from '../errors.js';
import { describeType } from '../task.js';
import type { InputValue } from './bytes.js';
import { normalizeRunOptions, type NormalizedRunOptions, type RunOptions } from './options.js';
import type { CommandResult, RunSummary } from './result.js';
import type { CommandRunner } from './runner.js';
import { compileTemplate, type CompiledTemplate } from './template.js';

/** One job's input: a value, or one value per input source. */
export type CommandInput = InputValue | readonly InputValue[];
export type CommandInputs = Iterable<CommandInput> | AsyncIterable<CommandInput>;

export function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

const NOTHING_RUN: RunSummary = Object.freeze({ jobs: 0, succeeded: 0, failed: 0, skipped: 0, halted: null, haltedBy: null, exitCode: 0 });

let newRun: (where: string, template: CompiledTemplate, inputs: CommandInputs, options: NormalizedRunOptions) => CommandRun;

/**
 * The iterator runCommands returns: `for await (const result of run)`. Breaking out of the
 * loop stops the running jobs. `summary` holds the counts and GNU parallel's exit status.
 */
export class CommandRun implements AsyncIterableIterator<CommandResult> {
  readonly #start: () => CommandRunner;
  #runner: CommandRunner | null = null;
  #loading: Promise<CommandRunner> | null = null;
  #returned = false;
  #waiting = 0;

  /** Made by runCommands() (newRun). */
  private constructor(where: string, template: CompiledTemplate, inputs: CommandInputs, options: NormalizedRunOptions) {
    this.#start = () => new runnerModule!.CommandRunner(where, template, inputs, options);
  }

  static {
    // `this`, as a class that names itself in its body loses its name in the bundle (scripts/build.mjs).
    newRun = (where, template, inputs, options) => new this(where, template, inputs, options);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Counts so far, and GNU parallel's exit status for them (final once the iteration ended). */
  get summary(): RunSummary {
    return this.#runner?.summary ?? NOTHING_RUN;
  }

  next(): Promise<IteratorResult<CommandResult>> {
    // Calls made while the runner loads reach it in order, before any made later.
    if (this.#runner !== null && this.#waiting === 0) return this.#runner.next();
    if (this.#returned) return Promise.resolve({ value: undefined, done: true });
    this.#waiting++;
    return this.#load().then((runner) => {
      this.#waiting--;
      return runner.next();
    });
  }

  /** @internal Sends `signal` to every running job's process group (the CLI's job control: Ctrl-Z, then fg). */
  signalJobs(signal: number): void {
    this.#runner?.signalJobs(signal);
  }

  /** Stops the run (running jobs get SIGTERM, then SIGKILL) and resolves once every job is gone. */
  async return(): Promise<IteratorResult<CommandResult>> {
    if (this.#loading === null) {
      this.#returned = true;
      return { value: undefined, done: true };
    }
    return (await this.#loading).return();
  }

  #load(): Promise<CommandRunner> {
    this.#loading ??= loadRunner().then(() => {
      this.#runner = this.#start();
      return this.#runner;
    });
    return this.#loading;
  }
}

let runnerModule: typeof import('./runner.js') | null = null;

async function loadRunner(): Promise<void> {
  runnerModule ??= await import('./runner.js');
}

/**
 * Runs `template` once per input, `jobs` at a time, as GNU parallel does, and yields each
 * job's record when it ends. Each input is a value or an array of values (one per input
 * source: {1} {2} ...). Values are quoted for the shell: they are data, never code.
 *
 * @example
 * for await (const r of runCommands('gzip -k {}', files, { jobs: 4 })) {
 *   if (r.failed) console.error(`${r.command}: exit ${r.exitCode}\n${r.stderr}`);
 * }
 */
export function runCommands(template: string | Uint8Array, inputs: CommandInputs, options?: RunOptions): CommandRun {
  const where = 'runCommands()';
  if (typeof template !== 'string' && !(template instanceof Uint8Array)) {
    throw new InvalidTypeError(`${where}: the template must be a string such as 'gzip {}' (or its bytes, a Uint8Array); received ${describeType(template)}`);
  }
  if (!isIterable(inputs) && !isAsyncIterable(inputs)) {
    throw new InvalidTypeError(`${where}: the inputs must be an iterable or async iterable of values; received ${describeType(inputs)}`);
  }
  const normalized = normalizeRunOptions(where, options);
  return newRun(where, compileTemplate(template, where), inputs, normalized);
}
