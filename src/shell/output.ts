/**
 * A job's stdout or stderr, collected whole so it can be printed at once. Output stays in
 * memory while the run's budget allows; past it, it goes to a temporary file (unlinked at
 * once, so nothing is left behind even after a crash), as GNU parallel does - so a job that
 * prints gigabytes leaves the runner's memory where it was.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ForkJoinError } from '../errors.js';

/** Bytes of output all the jobs of one run may hold in memory, shared by them. */
export class OutputBudget {
  used = 0;
  constructor(readonly limit: number, readonly tmpdir: string) {}
}

function outputError(message: string, cause?: unknown): ForkJoinError {
  return new ForkJoinError(ErrorCodes.SHELL_OUTPUT, message, cause === undefined ? {} : { cause });
}

function writeAll(fd: number, chunk: Buffer): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
}

let spills = 0;

/** A new temporary file, already unlinked: it vanishes with its last descriptor, even after a crash. */
function openUnlinked(dir: string): number {
  for (;;) {
    const path = join(dir, `forkjoin-output-${process.pid}-${Date.now().toString(36)}-${(spills++).toString(36)}`);
    try {
      const fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
      return fd;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** The output of a job that wrote nothing, shared by all such jobs. */
let noOutput: JobOutput | null = null;

const closer = new FinalizationRegistry<number>((fd) => {
  try { closeSync(fd); } catch { /* already closed */ }
});

/** One job's stdout or stderr, as bytes. Read it with `toString()`, `toBuffer()` or `chunks()`. */
export class JobOutput {
  #chunks: readonly Buffer[] | null;
  #fd: number | null;
  readonly #length: number;

  /** @internal Made by the runner. */
  constructor(chunks: readonly Buffer[] | null, length: number, fd: number | null) {
    this.#chunks = chunks;
    this.#length = length;
    this.#fd = fd;
    if (fd !== null) closer.register(this, fd, this);
  }

  /** Bytes of output. */
  get byteLength(): number {
    return this.#length;
  }

  /** Whether the output lives in a temporary file (it outgrew the run's `spillBytes`). */
  get spilled(): boolean {
    return this.#fd !== null;
  }

  /** The output in pieces of at most `pieceBytes` (read from the temporary file when spilled). */
  *chunks(pieceBytes = 1 << 20): Generator<Buffer, void, undefined> {
    if (this.#chunks !== null) {
      yield* this.#chunks;
      return;
    }
    const fd = this.#fd;
    if (fd === null) throw outputError('this job output was released; read it before calling release()');
    for (let position = 0; position < this.#length;) {
      const piece = Buffer.allocUnsafe(Math.min(pieceBytes, this.#length - position));
      let got: number;
      try {
        got = readSync(fd, piece, 0, piece.length, position);
      } catch (error) {
        throw outputError(`cannot read a job's output back from its temporary file: ${(error as Error).message}`, error);
      }
      if (got === 0) throw outputError('a job output\'s temporary file is shorter than the output');
      position += got;
      yield got === piece.length ? piece : piece.subarray(0, got);
    }
  }

  /** The whole output in one Buffer. */
  toBuffer(): Buffer {
    if (this.#chunks !== null && this.#chunks.length === 1) return this.#chunks[0];
    return Buffer.concat([...this.chunks()], this.#length);
  }

  /** The whole output as text (UTF-8 unless told otherwise). */
  toString(encoding: BufferEncoding = 'utf8'): string {
    return this.toBuffer().toString(encoding);
  }

  /** Frees the output now: closes its temporary file. Reading it afterwards fails with FJ_SHELL_OUTPUT. */
  release(): void {
    if (this.#fd !== null) {
      closer.unregister(this);
      try { closeSync(this.#fd); } catch { /* already closed */ }
      this.#fd = null;
    }
    if (this.#length > 0) this.#chunks = null;
  }
}

/** Collects one stream of one running job. */
export class OutputSink {
  #chunks: Buffer[] = [];
  #length = 0;
  #inMemory = 0;
  #fd: number | null = null;
  readonly #budget: OutputBudget;

  constructor(budget: OutputBudget) {
    this.#budget = budget;
  }

  /** Bytes this sink holds in memory, counted in the budget until the runner hands them over. */
  get inMemory(): number {
    return this.#inMemory;
  }

  append(chunk: Buffer): void {
    this.#length += chunk.length;
    if (this.#fd === null) {
      if (this.#budget.used + chunk.length <= this.#budget.limit) {
        this.#chunks.push(chunk);
        this.#inMemory += chunk.length;
        this.#budget.used += chunk.length;
        return;
      }
      this.#spill();
    }
    try {
      writeAll(this.#fd as number, chunk);
    } catch (error) {
      throw outputError(`cannot write a job's output to a temporary file in ${this.#budget.tmpdir}: ${(error as Error).message}`, error);
    }
  }

  #spill(): void {
    try {
      this.#fd = openUnlinked(this.#budget.tmpdir);
      for (const chunk of this.#chunks) writeAll(this.#fd, chunk);
    } catch (error) {
      throw outputError(`cannot write a job's output to a temporary file in ${this.#budget.tmpdir}: ${(error as Error).message}`, error);
    }
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
    this.#chunks = [];
  }

  /** The collected output, for the job's record. */
  finish(): JobOutput {
    if (this.#length === 0) return (noOutput ??= new JobOutput([], 0, null));
    return new JobOutput(this.#fd === null ? this.#chunks : null, this.#length, this.#fd);
  }

  /** Stops counting this output in the budget: its record now belongs to the caller. */
  handOver(): void {
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
  }

  /** Drops the output (a retried attempt, a stopped run) and its share of the budget. */
  discard(): void {
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
    this.#chunks = [];
    if (this.#fd !== null) {
      try { closeSync(this.#fd); } catch { /* already closed */ }
      this.#fd = null;
    }
  }
}
