/**
 * The joblog, in GNU parallel's format (so its tools and habits keep working), and the
 * --resume / --resume-failed reading of it: which job numbers already ran (or succeeded).
 */
import { createWriteStream, openSync, readFileSync, type WriteStream } from 'node:fs';
import { ErrorCodes, ForkJoinError } from '../errors.js';

const HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n';

function joblogError(message: string, cause?: unknown): ForkJoinError {
  return new ForkJoinError(ErrorCodes.SHELL_JOBLOG, message, cause === undefined ? {} : { cause });
}

/** One finished job, as a joblog line sees it. */
export interface JoblogEntry {
  seq: number;
  startedAt: Date;
  durationMs: number;
  stdoutBytes: number;
  /** GNU parallel's Exitval: the exit code, or -1 for a job the runner killed (timeout). */
  exitval: number;
  /** The signal number that ended the job, or 0. */
  signal: number;
  /** The command line, as bytes. */
  command: Buffer;
}

/**
 * The job numbers a joblog lists: every one (`all`, for --resume), or those that exited 0
 * without a signal (`succeeded`, for --resume-failed). A missing file lists none.
 */
export function readJoblog(path: string, which: 'all' | 'succeeded'): Set<number> {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw joblogError(`cannot read the joblog ${JSON.stringify(path)} to resume: ${(error as Error).message}`, error);
  }
  const seqs = new Set<number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '' || (i === 0 && line.startsWith('Seq\t'))) continue;
    const fields = line.split('\t');
    if (fields.length < 9 || !/^\d+$/.test(fields[0]) || !fields.slice(2, 8).every((f) => /^\s*-?[\d.]+$/.test(f))) {
      // A last line without its newline was cut off (the run was killed as it wrote it): that job did not count.
      if (i === lines.length - 1) continue;
      throw joblogError(`the joblog ${JSON.stringify(path)} is not in GNU parallel's format at line ${i + 1}: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (which === 'all' || (fields[6] === '0' && fields[7] === '0')) seqs.add(Number(fields[0]));
  }
  return seqs;
}

/** Appends a line per job as jobs end. */
export class JoblogWriter {
  readonly #stream: WriteStream | NodeJS.WriteStream;
  readonly #path: string;
  #error: Error | null = null;

  private constructor(stream: WriteStream | NodeJS.WriteStream, path: string) {
    this.#stream = stream;
    this.#path = path;
    stream.on('error', (error: Error) => { this.#error ??= error; });
  }

  /**
   * Opens the joblog: `-` is stdout; `append` adds to it without a header (GNU's `+file`);
   * `resuming` adds to a joblog that exists and is not empty; otherwise it is overwritten, header first.
   */
  static open(path: string, append: boolean, resuming: boolean): JoblogWriter {
    if (path === '-') {
      process.stdout.write(HEADER);
      return new JoblogWriter(process.stdout, path);
    }
    let existing = '';
    if (resuming) {
      try { existing = readFileSync(path, 'latin1'); } catch { existing = ''; }
    }
    // Resuming adds to the joblog there is, header or not (one written with +FILE has none).
    const appending = append || existing !== '';
    let fd: number;
    try {
      fd = openSync(path, appending ? 'a' : 'w');
    } catch (error) {
      throw joblogError(`cannot write the joblog ${JSON.stringify(path)}: ${(error as Error).message}`, error);
    }
    const stream = createWriteStream(path, { fd });
    const writer = new JoblogWriter(stream, path);
    if (!appending) stream.write(HEADER);
    else if (existing !== '' && !existing.endsWith('\n')) stream.write('\n'); // after a line cut off, a line of its own
    return writer;
  }

  write(entry: JoblogEntry): void {
    const head = `${entry.seq}\t:\t${(entry.startedAt.getTime() / 1000).toFixed(3)}\t${(entry.durationMs / 1000).toFixed(3).padStart(10)}\t0\t${entry.stdoutBytes}\t${entry.exitval}\t${entry.signal}\t`;
    const command = Buffer.from(entry.command);
    for (let at = command.indexOf(0x0a); at >= 0; at = command.indexOf(0x0a, at + 1)) command[at] = 0; // GNU parallel's way to keep one job a line
    this.#stream.write(Buffer.concat([Buffer.from(head, 'latin1'), command, Buffer.from('\n')]));
  }

  /** Flushes and closes the joblog; rejects with FJ_SHELL_JOBLOG if any write failed. */
  async close(): Promise<void> {
    const stream = this.#stream;
    if (stream !== process.stdout) {
      await new Promise<void>((resolve) => {
        (stream as WriteStream).end(() => resolve());
        stream.once('error', () => resolve());
      });
    }
    if (this.#error !== null) throw joblogError(`cannot write the joblog ${JSON.stringify(this.#path)}: ${this.#error.message}`, this.#error);
  }
}
