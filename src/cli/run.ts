/**
 * `forkjoin run`: GNU parallel's command line over runCommands(). It maps flags to options and
 * input sources, prints each job's output whole as it ends, and maps the run to GNU parallel's
 * exit status: 0, the number of failed jobs (101 past 100), 255 for its own errors, 128 + the
 * signal that stopped it.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { ErrorCodes, isForkJoinError } from '../errors.js';
import { MAX_TIMER_MS, inFlagWords } from '../options.js';
import { formatProgress, type ProgressEvent } from '../progress.js';
import { combineSources, type InputSource, type SourceGroup } from '../shell/inputs.js';
import type { RunOptions } from '../shell/options.js';
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
                   seconds (postfix s, m, h, d: 1h30m), or after T% of the median runtime
                                              forkjoin run --timeout 30 ...  --timeout 300% ...
  --dry-run        print the commands instead of running them
                                              forkjoin run --dry-run 'rm {}' ::: *.tmp
  --bar            progress bar with ETA on stderr (reads all input first)
                                              forkjoin run --bar 'gzip {}' ::: *.log
  --shell PATH     run commands with PATH -c (a Bourne shell); default /bin/sh
                                              forkjoin run --shell /bin/bash 'echo {} |& cat' ::: a
  -h, --help       show this help

Output: each job's stdout and stderr are printed whole when it ends, never mixed with
another job's. Ctrl-C (SIGINT) or SIGTERM stops every running job's whole process group
(SIGTERM, then SIGKILL) before forkjoin exits.

Exit status: 0 all jobs succeeded; 1-100 that many failed; 101 more than 100 failed;
--halt ...,fail=1: the failing job's status; 255 an error of forkjoin itself (a bad option,
an unreadable input); 130/143 stopped by SIGINT/SIGTERM.`;

const OPTIONS_WITH_VALUE = new Set(['-j', '--jobs', '-P', '--joblog', '--jl', '--retries', '--halt', '--halt-on-error', '--timeout',
  '--shell', '-a', '--arg-file']);
const FLAGS = new Set(['-k', '--keep-order', '--tag', '--resume', '--resume-failed', '--dry-run', '--bar', '-0', '--null', '-h', '--help']);
const MARKERS = new Set([':::', '::::', ':::+', '::::+']);

class UsageError extends Error {}

interface Parsed {
  help: boolean;
  template: string;
  groups: SourceGroup[];
  readsStdin: boolean;
  nul: boolean;
  tag: boolean;
  bar: boolean;
  options: RunOptions;
}

/** GNU parallel's durations: seconds, or floats with s, m, h, d (`1d3.5h16.6m4s`). */
function parseSeconds(text: string): number {
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
  if (!/^(\d+(\.\d+)?[smhd]?)+$/.test(text)) throw new UsageError(`--timeout must be seconds (30, 1.5, 2m, 1h30m) or a percentage (300%); got ${JSON.stringify(text)}`);
  let seconds = 0;
  for (const [, number, unit] of text.matchAll(/(\d+(?:\.\d+)?)([smhd]?)/g)) seconds += Number(number) * units[unit];
  if (seconds <= 0 || seconds * 1000 > MAX_TIMER_MS) {
    throw new UsageError(`--timeout must be more than 0 and at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days); got ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** The flag a runCommands option comes from, to name it in the runner's errors as the user wrote it. */
const FLAG_OF: Readonly<Record<string, string>> = {
  jobs: '-j', keepOrder: '-k', retries: '--retries', halt: '--halt', timeout: '--timeout', joblog: '--joblog',
  resume: '--resume', resumeFailed: '--resume-failed', dryRun: '--dry-run', shell: '--shell',
};

/** The runner's message in the CLI's words: `runCommands(): the "jobs" option ...` becomes `-j ...`. */
function inCliWords(message: string): string {
  const said = inFlagWords(message.replace(/^runCommands\(\): /, ''), (name) => FLAG_OF[name]);
  return said.includes('holds a NUL byte') ? `${said} (read NUL-separated input with -0)` : said;
}

/** Short flags that may be grouped as GNU parallel groups them: `-kj4` is `-k -j4`, `-0k` is `-0 -k`. */
const SHORT_FLAGS = new Set(['k', '0', 'h']);

function parseArgs(given: readonly string[]): Parsed {
  const args = [...given];
  const options: RunOptions = {};
  const parsed: Parsed = { help: false, template: '', groups: [], readsStdin: false, nul: false, tag: false, bar: false, options };
  const argFiles: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') { i++; break; }
    if (!arg.startsWith('-') || arg === '-' || MARKERS.has(arg)) break;
    if (arg.length > 2 && arg[1] !== '-' && SHORT_FLAGS.has(arg[1])) {
      // A group of short options: its first flag now, the rest as an argument of its own.
      args.splice(i, 1, arg.slice(0, 2), `-${arg.slice(2)}`);
      i--;
      continue;
    }
    let name = arg;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
    } else if (/^-[jPa]./.test(arg)) {
      name = arg.slice(0, 2);
      value = arg.slice(2);
    }
    if (OPTIONS_WITH_VALUE.has(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`${name} needs a value`);
        value = args[++i];
      }
    } else if (!FLAGS.has(name) || value !== undefined) {
      throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
    switch (name) {
      case '-j': case '--jobs': case '-P': options.jobs = value; break;
      case '-k': case '--keep-order': options.keepOrder = true; break;
      case '--tag': parsed.tag = true; break;
      case '--joblog': case '--jl': options.joblog = value; break;
      case '--resume': options.resume = true; break;
      case '--resume-failed': options.resumeFailed = true; break;
      case '--retries': {
        if (!/^\d+$/.test(value ?? '')) throw new UsageError(`--retries must be a whole number; got ${JSON.stringify(value)}`);
        const tries = Number(value);
        options.retries = tries === 0 ? Number.POSITIVE_INFINITY : tries - 1;
        break;
      }
      case '--halt': case '--halt-on-error': options.halt = value as RunOptions['halt']; break;
      case '--timeout': {
        const text = (value ?? '').trim();
        options.timeout = text.endsWith('%') ? (text as `${number}%`) : parseSeconds(text) * 1000;
        break;
      }
      case '--dry-run': options.dryRun = true; break;
      case '--bar': parsed.bar = true; break;
      case '--shell': options.shell = value; break;
      case '-0': case '--null': parsed.nul = true; break;
      case '-a': case '--arg-file': argFiles.push(value as string); break;
      case '-h': case '--help': parsed.help = true; break;
      default: throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  const words: string[] = [];
  while (i < args.length && !MARKERS.has(args[i])) words.push(args[i++]);
  parsed.template = words.join(' ');
  for (const path of argFiles) parsed.groups.push([{ kind: 'file', path }]);
  // The bytes of each argument as given (grouped short options were split above, before any value).
  const rawGiven = rawArgs(given);
  const shift = args.length - given.length;
  const raw = args.map((_, j) => (j >= shift ? rawGiven[j - shift] : null));
  while (i < args.length) {
    const marker = args[i++];
    const items: Array<string | Buffer> = [];
    while (i < args.length && !MARKERS.has(args[i])) {
      items.push(raw[i] ?? args[i]);
      i++;
    }
    const sources: InputSource[] = marker.startsWith('::::') ? items.map((path) => ({ kind: 'file', path: String(path) })) : [{ kind: 'values', values: items }];
    if (marker.endsWith('+')) {
      if (parsed.groups.length === 0) throw new UsageError(`${marker} links to a previous input source, but there is none`);
      const last = parsed.groups.pop() as SourceGroup;
      parsed.groups.push([...last, ...sources]);
    } else {
      for (const source of sources) parsed.groups.push([source]);
    }
  }
  if (parsed.groups.length === 0) {
    parsed.groups.push([{ kind: 'stdin' }]);
  }
  parsed.readsStdin = parsed.groups.some((g) => g.some((s) => s.kind === 'stdin' || (s.kind === 'file' && s.path === '-')));
  if (!parsed.help && parsed.template.trim() === '') throw new UsageError('give the COMMAND to run, e.g. forkjoin run \'gzip {}\' ::: a b');
  return parsed;
}

/**
 * The bytes of each argument as the kernel passed them, where Node's decoding of the command
 * line as UTF-8 changed them (bytes that are not UTF-8, such as a Latin-1 file name, become
 * U+FFFD); null for every other argument, and everywhere without /proc (then values keep
 * Node's decoding). `args` are the last arguments of the command line.
 */
function rawArgs(args: readonly string[]): Array<Buffer | null> {
  const none = args.map(() => null);
  if (!args.some((arg) => arg.includes('\uFFFD'))) return none;
  let cmdline: Buffer;
  try {
    cmdline = readFileSync('/proc/self/cmdline');
  } catch {
    return none;
  }
  const parts: Buffer[] = [];
  for (let start = 0; start < cmdline.length;) {
    const end = cmdline.indexOf(0, start);
    parts.push(cmdline.subarray(start, end < 0 ? cmdline.length : end));
    start = end < 0 ? cmdline.length : end + 1;
  }
  const tail = parts.slice(parts.length - args.length);
  if (tail.length !== args.length || tail.some((bytes, i) => bytes.toString('utf8') !== args[i])) return none;
  return tail.map((bytes, i) => (args[i].includes('\uFFFD') && !bytes.equals(Buffer.from(args[i])) ? Buffer.from(bytes) : null));
}

/** Writes `data`, waiting whenever the stream is full, so printing a huge output needs no memory. */
async function write(stream: NodeJS.WriteStream, data: Buffer): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** Writes `chunks` to `stream`, each line (after a line break) prefixed with `tag`. */
async function writeTagged(stream: NodeJS.WriteStream, chunks: Iterable<Buffer>, tag: Buffer | null): Promise<void> {
  let lineStart = true;
  for (const chunk of chunks) {
    if (tag === null) {
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
}

function tagOf(result: CommandResult): Buffer {
  const parts = result.values.map((v) => (typeof v === 'string' ? Buffer.from(v) : typeof v === 'number' ? Buffer.from(String(v)) : Buffer.from(v)));
  const joined: Buffer[] = [];
  parts.forEach((p, i) => { if (i > 0) joined.push(Buffer.from(' ')); joined.push(p); });
  joined.push(Buffer.from('\t'));
  return Buffer.concat(joined);
}

/** A progress bar on stderr, drawn at most ten times a second. */
function progressBar(): { listener: (e: ProgressEvent) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last: ProgressEvent | null = null;
  let drawnAt = 0;
  const draw = (e: ProgressEvent): void => { process.stderr.write(`\r${tty ? '\x1b[2K' : ''}${formatProgress(e, 'forkjoin run')}`); };
  return {
    listener(e) {
      last = e;
      const now = Date.now();
      if (now - drawnAt >= 100) { drawnAt = now; draw(e); }
    },
    end() {
      if (last !== null) { draw(last); process.stderr.write('\n'); }
    },
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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
    process.stderr.write(`forkjoin run: ${error.message}\n(forkjoin run --help lists the options)\n`);
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
  try {
    let inputs: AsyncIterable<CommandInput> | CommandInput[] = combineSources(parsed.groups, { nul: parsed.nul });
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
      if (bar !== null && process.stderr.isTTY === true) process.stderr.write('\r\x1b[2K');
      process.stderr.write(`forkjoin run: ${line}\n`);
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
          if (bar !== null && process.stderr.isTTY === true) process.stderr.write('\r\x1b[2K');
          await writeTagged(process.stderr, result.stderr.chunks(), tag);
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
    const message = error instanceof Error ? inCliWords(error.message) : String(error);
    process.stderr.write(`forkjoin run: ${message}\n`);
    return 255;
  } finally {
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
