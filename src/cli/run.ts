/**
 * `forkjoin run`: GNU parallel's command line over runCommands(). It maps flags to options and
 * input sources, prints each job's output whole as it ends, and maps the run to GNU parallel's
 * exit status: 0, the number of failed jobs (101 past 100), 255 for its own errors, 128 + the
 * signal that stopped it.
 */
import { once } from 'node:events';
import { constants } from 'node:os';
import { ErrorCodes, isForkJoinError } from '../errors.js';
import { inFlagWords } from '../options.js';
import { UsageError, parseArgs, type Parsed } from './run-args.js';
import { inputsOf } from './run-inputs.js';
import { formatProgress, type ProgressEvent } from '../progress.js';
import { endBar, printBarLine, showBar, updateBar, type BarLine } from '../terminal-bars.js';
import type { CommandResult } from '../shell/result.js';
import type { CommandInput } from '../shell/run-commands.js';
import { runCommands } from '../shell/run-commands.js';

const usage = `forkjoin run [options] COMMAND [::: VALUES...] [:::: FILES...]

Runs COMMAND once per input value, several at a time, as GNU parallel does. Values come
from ::: lists, :::: files (one value a line) or, when neither is given, standard input.
Each value is quoted for the shell where it lands: it is data, never code.

  forkjoin run -j 4 'gzip -k {}' ::: *.log
  find . -name '*.jpg' | forkjoin run --bar -k 'convert {} {.}.png'

Replacement strings (a COMMAND without any gets the values appended):
  {}    the value                          {.}   the value without its extension
  {/}   its basename                       {//}  its directory
  {/.}  its basename without extension     {#}   the job's number (1, 2, ...)
  {%}   the job slot (1 to -j)
  {1} {2} ...  the value from the 1st, 2nd ... input source; {1.} {2/} {-1} ... likewise
                 forkjoin run 'cp {1} {2}/' ::: a.txt b.txt ::: backup

Input sources:
  ::: V...         values given here          forkjoin run echo ::: a b c
  :::: FILE...     one value per line of each FILE (- is stdin)
                                              forkjoin run 'wc -l {}' :::: files.txt
  -a, --arg-file FILE  the same as :::: FILE
  :::+ V... , ::::+ FILE...  linked to the previous source: values taken in pairs
                                              forkjoin run 'mv {1} {2}' ::: a b :::+ x y
  -0, --null       values are separated by NUL bytes, not newlines
                                              find . -print0 | forkjoin run -0 'ls -l {}'
  -C, --colsep REGEXP  split each value into columns {1} {2} ... at a regular expression;
                   their white space is trimmed (--trim n keeps it)
                                              forkjoin run -C , 'mv {1} {2}' :::: pairs.csv
  --trim n|l|r|lr  trim white space from the start (l), the end (r) or both ends of values
                   (default n; lr with --colsep)  forkjoin run --trim lr 'echo [{}]' :::: list
  Several sources give every combination, the first source slowest:
                   forkjoin run echo ::: a b ::: 1 2      (a 1, a 2, b 1, b 2)

Options (short ones group: -kj4 is -k -j4):
  -j, --jobs N     jobs at once: N, N% of the cores, +N or -N cores, 0 as many as
                   possible (250); default: one per core       forkjoin run -j 200% ...
  -k, --keep-order print output in input order (jobs still run in parallel)
                                              forkjoin run -k 'sleep {}; echo {}' ::: 2 1
  --tag            prefix each output line with the job's values and a tab
                                              forkjoin run --tag 'wc -l < {}' ::: *.txt
  --joblog FILE    log each job: Seq Host Starttime JobRuntime Send Receive Exitval
                   Signal Command, GNU parallel's format (+FILE appends)
                                              forkjoin run --joblog jobs.log ...
  --resume         skip the jobs the joblog lists (same input, same COMMAND)
                                              forkjoin run --joblog jobs.log --resume ...
  --resume-failed  skip the jobs the joblog lists as succeeded; run the others again
                                              forkjoin run --joblog jobs.log --resume-failed ...
  --retries N      try a failing job up to N times in all (0: until it succeeds)
                                              forkjoin run --retries 3 'curl -fsO {}' :::: urls
  --halt WHEN,WHY=N  stop early. WHEN: now (kill running jobs) or soon (let them end);
                   WHY: fail, success or done; N a count or a percentage of all jobs
                                              forkjoin run --halt now,fail=1 'make {}' ::: a b
  --timeout T      stop a job (SIGTERM to its process group, then SIGKILL) after T
                   seconds (postfix s, m, h, d: 1h30m; 0: none), or T% of the median runtime
                                              forkjoin run --timeout 30 ...  --timeout 300% ...
  --dry-run        print the commands instead of running them
                                              forkjoin run --dry-run 'rm {}' ::: *.tmp
  --bar            progress bar with ETA on stderr (reads all input first); when stderr
                   is not a terminal, a line each time another tenth of the jobs is done
                                              forkjoin run --bar 'gzip {}' ::: *.log
  --shell PATH     run commands with PATH -c (a Bourne shell); default /bin/sh
                                              forkjoin run --shell /bin/bash 'echo {} |& cat' ::: a
  -h, --help       show this help

Output: each job's stdout and stderr are printed whole when it ends, never mixed with
another job's. Ctrl-C (SIGINT) or SIGTERM stops every running job's whole process group
(SIGTERM, then SIGKILL) before forkjoin exits; Ctrl-Z pauses the jobs with forkjoin, fg resumes them.

Exit status: 0 all jobs succeeded; 1-100 that many failed; 101 more than 100 failed;
--halt ...,fail=1: the failing job's status; 255 an error of forkjoin itself (a bad option,
an unreadable input); 130/143 stopped by SIGINT/SIGTERM.`;

const HELP_LINE = '(forkjoin run --help lists the options)';

/** The flag a runCommands option comes from, to name it in the runner's errors as the user wrote it. */
const FLAG_OF: Readonly<Record<string, string>> = {
  jobs: '-j', keepOrder: '-k', retries: '--retries', halt: '--halt', timeout: '--timeout', joblog: '--joblog',
  resume: '--resume', resumeFailed: '--resume-failed', dryRun: '--dry-run', shell: '--shell',
};

/**
 * The runner's error in the CLI's words (`runCommands(): the "jobs" option ...` becomes `-j ...`):
 * a bad option value as a usage error, any other error of forkjoin's with its stable code.
 */
function inCliWords(error: unknown): string {
  const message = inFlagWords((error instanceof Error ? error.message : String(error)).replace(/^runCommands\(\): /, ''), (name) => FLAG_OF[name]);
  if (isForkJoinError(error, ErrorCodes.INVALID_ARG_VALUE) || isForkJoinError(error, ErrorCodes.INVALID_ARG_TYPE)) return `${message}\n${HELP_LINE}`;
  return isForkJoinError(error) ? `${message} [${error.code}]` : message;
}

/** Writes `data`, waiting whenever the stream is full, so printing a huge output needs no memory. */
async function write(stream: NodeJS.WriteStream, data: Buffer): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** Writes `chunks` to `stream`, each line (after a line break) prefixed with `tag`; true when they end a line (for --bar). */
async function writeTagged(stream: NodeJS.WriteStream, chunks: Iterable<Buffer>, tag: Buffer | null): Promise<boolean> {
  let lineStart = true;
  for (const chunk of chunks) {
    if (tag === null) {
      if (chunk.length > 0) lineStart = chunk[chunk.length - 1] === 0x0a;
      await write(stream, chunk);
      continue;
    }
    const pieces: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (lineStart) pieces.push(tag);
      const newline = chunk.indexOf(0x0a, at);
      const end = newline < 0 ? chunk.length : newline + 1;
      pieces.push(chunk.subarray(at, end));
      lineStart = newline >= 0;
      at = end;
    }
    await write(stream, Buffer.concat(pieces));
  }
  return lineStart;
}

function tagOf(result: CommandResult): Buffer {
  const parts = result.values.map((v) => (typeof v === 'string' ? Buffer.from(v) : typeof v === 'number' ? Buffer.from(String(v)) : Buffer.from(v)));
  const joined: Buffer[] = [];
  parts.forEach((p, i) => { if (i > 0) joined.push(Buffer.from(' ')); joined.push(p); });
  joined.push(Buffer.from('\t'));
  return Buffer.concat(joined);
}

interface ProgressBar {
  listener: (e: ProgressEvent) => void;
  /** A job's stderr was printed; `endsLine` tells whether it ended its line. */
  printed: (endsLine: boolean) => void;
  end: () => void;
}

/**
 * --bar. On a terminal: a bar on stderr below the jobs' output, drawn at most ten times a second
 * and again after each job's output (terminal-bars.ts moves it aside for every write). Else, as in a
 * log: a line of progress when the jobs done reach another tenth of them, and one at the end.
 */
function progressBar(): ProgressBar {
  const label = 'forkjoin run';
  let last: ProgressEvent | null = null;
  if (process.stderr.isTTY === true) {
    let line: BarLine | null = null;
    let drawnAt = 0;
    /** The redraw due once 100 ms have passed since the last: counts that came in a burst show before the next job ends. */
    let later: NodeJS.Timeout | null = null;
    const draw = (e: ProgressEvent): void => {
      if (later !== null) clearTimeout(later);
      later = null;
      drawnAt = Date.now();
      if (line === null) line = showBar(formatProgress(e, label));
      else updateBar(line, formatProgress(e, label));
    };
    return {
      listener(e) {
        last = e;
        const since = Date.now() - drawnAt;
        if (since >= 100) draw(e);
        else later ??= setTimeout(() => { later = null; if (last !== null) draw(last); }, 100 - since).unref();
      },
      printed() {},
      end() {
        if (later !== null) clearTimeout(later);
        later = null;
        if (last === null) return;
        if (line === null) printBarLine(formatProgress(last, label));
        else endBar(line, formatProgress(last, label));
        line = null;
      },
    };
  }
  let tenth = -1;
  let printedEvent: ProgressEvent | null = null;
  let midLine = false;
  const print = (e: ProgressEvent): void => {
    printedEvent = e;
    process.stderr.write(`${midLine ? '\n' : ''}${formatProgress(e, label)}\n`);
    midLine = false;
  };
  return {
    listener(e) {
      last = e;
      const reached = e.total === undefined || e.total === 0 ? -1 : Math.floor((e.done * 10) / e.total);
      if (reached > tenth) {
        tenth = reached;
        print(e);
      }
    },
    printed(endsLine) { midLine = !endsLine; },
    end() {
      if (last !== null && last !== printedEvent) print(last);
    },
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** On Ctrl-Z, how long forkjoin reads what its jobs' spawner sent before it stops itself. */
const STOP_SELF_AFTER_MS = 50;

/** forkjoin's own warnings (FORKJOIN_*) in the command's words; Node prints the others as usual. */
function printOwnWarnings(): void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: unknown }) => {
    if (typeof warning.code === 'string' && warning.code.startsWith('FORKJOIN_')) process.stderr.write(`forkjoin run: warning: ${warning.message}\n`);
    else for (const print of printers) print.call(process, warning);
  });
}

async function runCli(args: string[]): Promise<number> {
  printOwnWarnings();
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`forkjoin run: ${error.message}\n${HELP_LINE}\n`);
    return 255;
  }
  if (parsed.help) {
    process.stdout.write(`usage: ${usage}\n`);
    return 0;
  }
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  let readingAll = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy !== null) return;
    stoppedBy = signal;
    controller.abort(signal);
    if (readingAll && parsed.readsStdin) process.stdin.destroy(); // --bar was still reading the input
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  let brokenPipe = false;
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') { brokenPipe = true; controller.abort('EPIPE'); }
  };
  process.stdout.on('error', onStdoutError);
  const bar = parsed.bar ? progressBar() : null;
  let jobControl = (): void => {};
  try {
    let inputs: AsyncIterable<CommandInput> | CommandInput[] = inputsOf(parsed);
    if (bar !== null) {
      // The bar needs the number of jobs, as GNU parallel's does: read the input whole first.
      const all: CommandInput[] = [];
      readingAll = true;
      for await (const input of inputs) all.push(input);
      readingAll = false;
      if (stoppedBy !== null) return 128 + constants.signals[stoppedBy];
      inputs = all;
    }
    const run = runCommands(parsed.template, inputs, {
      ...parsed.options,
      signal: controller.signal,
      ...(bar === null ? {} : { progress: bar.listener }),
    });
    const notice = (line: string): void => {
      process.stderr.write(`forkjoin run: ${line}\n`);
      bar?.printed(true);
    };
    // Ctrl-Z stops the jobs too (each runs in a process group of its own, which the terminal does not
    // signal), then forkjoin itself; fg (SIGCONT) lets them go on.
    const onStop = (): void => {
      run.signalJobs(constants.signals.SIGSTOP);
      // A job whose start is still on its way here is stopped when it is read: let it be read first.
      setTimeout(() => process.kill(process.pid, 'SIGSTOP'), STOP_SELF_AFTER_MS);
    };
    const onContinue = (): void => run.signalJobs(constants.signals.SIGCONT);
    process.on('SIGTSTP', onStop);
    process.on('SIGCONT', onContinue);
    jobControl = () => {
      process.off('SIGTSTP', onStop);
      process.off('SIGCONT', onContinue);
    };
    let haltNoticed = false;
    // As GNU parallel does, stderr says which job halted the run, once.
    const noticeHalt = (): void => {
      const { halted, haltedBy } = run.summary;
      if (haltNoticed || haltedBy === null) return;
      haltNoticed = true;
      notice(`--halt ${parsed.options.halt}: this job ${haltedBy.failed ? 'failed' : 'succeeded'}: ${haltedBy.command}`);
      notice(halted === 'now' ? 'the running jobs were killed' : 'starting no more jobs; waiting for the running ones to end');
    };
    for await (const result of run) {
      const tag = parsed.tag ? tagOf(result) : null;
      if (parsed.options.dryRun === true) {
        await write(process.stdout, Buffer.concat([tag ?? Buffer.alloc(0), result.commandBytes, Buffer.from('\n')]));
      } else {
        if (result.stdout.byteLength > 0) await writeTagged(process.stdout, result.stdout.chunks(), tag);
        if (result.stderr.byteLength > 0) {
          const endsLine = await writeTagged(process.stderr, result.stderr.chunks(), tag);
          bar?.printed(endsLine);
        }
      }
      result.stdout.release();
      result.stderr.release();
      if (result.timedOut) notice(`this job was killed because it ran past its --timeout: ${result.command}`);
      noticeHalt();
    }
    noticeHalt();
    bar?.end();
    return stoppedBy === null ? run.summary.exitCode : 128 + constants.signals[stoppedBy];
  } catch (error) {
    bar?.end();
    // Whoever read our output stopped (`| head`): end quietly, as a process killed by SIGPIPE.
    if (brokenPipe || (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return 128 + constants.signals.SIGPIPE;
    if (stoppedBy !== null || isForkJoinError(error, ErrorCodes.ABORTED)) return 128 + constants.signals[stoppedBy ?? 'SIGTERM'];
    process.stderr.write(`forkjoin run: ${inCliWords(error)}\n`);
    return 255;
  } finally {
    jobControl();
    for (const signal of SIGNALS) process.off(signal, onSignal);
    process.stdout.off('error', onStdoutError);
    if (parsed.readsStdin) process.stdin.destroy();
  }
}

/** The `run` command of the CLI. */
export const runCommand = Object.freeze({
  usage,
  run: runCli,
});
