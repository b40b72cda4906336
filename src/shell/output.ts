/**
 * A job's stdout or stderr, collected whole so it can be printed at once. Output stays in
 * memory while the run's budget allows; past it, it goes to a temporary file (unlinked at
 * once, so nothing is left behind even after a crash), as GNU parallel does - so a job that
 * prints gigabytes leaves the runner's memory where it was.
 */
import { closeSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, ForkJoinError } from '../errors.js';

/** Bytes of output all the jobs of one run may hold in memory, shared by them; and the temporary files open. */
export class OutputBudget {
  used = 0;
  /** Temporary files open for outputs the reader has not taken yet (each is a file descriptor). */
  openFiles = 0;
  /** Whether a temporary file could not be opened (out of file descriptors): said once. */
  warned = false;
  /** Files it keeps open before the run waits for the reader: half the descriptors it may open, less two per job. */
  readonly #maxOpenFiles: number;

  constructor(readonly limit: number, readonly tmpdir: string, jobs = 1, readonly onFileClosed: () => void = () => {}) {
    this.#maxOpenFiles = Math.max(8, Math.floor(openFileLimit() / 2) - 2 * jobs - 64);
  }

  /** Whether the outputs waiting for the reader hold as many files as the run should keep open. */
  get filesFull(): boolean {
    return this.openFiles >= this.#maxOpenFiles;
  }

  /** One of the outputs' temporary files was closed. */
  fileClosed(): void {
    this.openFiles--;
    this.onFileClosed();
  }
}

/** The process's limit of open files (its soft limit), or 1024 where it cannot be read. */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (line !== null) return line[1] === 'unlimited' ? 1 << 20 : Number(line[1]);
  } catch { /* not Linux */ }
  return 1024;
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
let newOutput: (chunks: readonly Buffer[] | null, length: number, fd: number | null, closed?: (() => void) | null) => JobOutput;

const closer = new FinalizationRegistry<{ fd: number; closed: (() => void) | null }>(({ fd, closed }) => {
  try { closeSync(fd); } catch { /* already closed */ }
  closed?.();
});

/** One job's stdout or stderr, as bytes. Read it with `toString()`, `toBuffer()` or `chunks()`. */
export class JobOutput {
  #chunks: readonly Buffer[] | null;
  #fd: number | null;
  readonly #length: number;
  readonly #closed: (() => void) | null;

  /** Made by the runner (newOutput); `closed` is told when the temporary file is closed. */
  private constructor(chunks: readonly Buffer[] | null, length: number, fd: number | null, closed: (() => void) | null = null) {
    this.#chunks = chunks;
    this.#length = length;
    this.#fd = fd;
    this.#closed = fd === null ? null : closed;
    if (fd !== null) closer.register(this, { fd, closed: this.#closed }, this);
  }

  static {
    // `this`, as a class that names itself in its body loses its name in the bundle (scripts/build.mjs).
    newOutput = (chunks, length, fd, closed) => new this(chunks, length, fd, closed);
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
      this.#closed?.();
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
  /** Whether its temporary file counts in the budget's open files: until the reader takes the record, or it is closed. */
  #counted = false;

  constructor(budget: OutputBudget) {
    this.#budget = budget;
  }

  /** Its temporary file no longer counts in the budget (idempotent). */
  readonly #uncount = (): void => {
    if (!this.#counted) return;
    this.#counted = false;
    this.#budget.fileClosed();
  };

  /** Bytes this sink holds in memory, counted in the budget until the runner hands them over. */
  get inMemory(): number {
    return this.#inMemory;
  }

  append(chunk: Buffer): void {
    this.#length += chunk.length;
    if (this.#fd === null && (this.#budget.used + chunk.length <= this.#budget.limit || !this.#spill())) {
      this.#chunks.push(chunk);
      this.#inMemory += chunk.length;
      this.#budget.used += chunk.length;
      return;
    }
    try {
      writeAll(this.#fd as number, chunk);
    } catch (error) {
      throw outputError(`cannot write a job's output to a temporary file in ${this.#budget.tmpdir}: ${(error as Error).message}`, error);
    }
  }

  /** Moves the output to a temporary file; false when no file descriptor is left (it then stays in memory). */
  #spill(): boolean {
    const budget = this.#budget;
    try {
      this.#fd = openUnlinked(budget.tmpdir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EMFILE' && code !== 'ENFILE') throw outputError(`cannot write a job's output to a temporary file in ${budget.tmpdir}: ${(error as Error).message}`, error);
      // Out of file descriptors: the output stays in memory, past the budget, and the run goes on.
      if (!budget.warned) {
        budget.warned = true;
        process.emitWarning(`forkjoin run: no file descriptor left for a job's output file in ${budget.tmpdir} (${code}); outputs stay in memory until fewer wait for their turn`, { code: ErrorCodes.SHELL_OUTPUT });
      }
      return false;
    }
    budget.openFiles++;
    this.#counted = true;
    try {
      for (const chunk of this.#chunks) writeAll(this.#fd, chunk);
    } catch (error) {
      throw outputError(`cannot write a job's output to a temporary file in ${budget.tmpdir}: ${(error as Error).message}`, error);
    }
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
    this.#chunks = [];
    return true;
  }

  /** The collected output, for the job's record. */
  finish(): JobOutput {
    if (this.#length === 0) return (noOutput ??= newOutput([], 0, null));
    return newOutput(this.#fd === null ? this.#chunks : null, this.#length, this.#fd, this.#uncount);
  }

  /** Stops counting this output in the budget: its record now belongs to the caller. */
  handOver(): void {
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
    // The reader holds it now: keeping its file open is the reader's choice, not the run's to wait on.
    this.#uncount();
  }

  /** Drops the output (a retried attempt, a stopped run) and its share of the budget. */
  discard(): void {
    this.#budget.used -= this.#inMemory;
    this.#inMemory = 0;
    this.#chunks = [];
    if (this.#fd !== null) {
      try { closeSync(this.#fd); } catch { /* already closed */ }
      this.#fd = null;
      this.#uncount();
    }
  }
}
