/**
 * The command line of `forkjoin run`, read as GNU parallel reads it: options (short ones may
 * group, -kj4), the template, then input sources. `:::` values keep the bytes the kernel passed.
 */
import { readFileSync } from 'node:fs';
import { MAX_TIMER_MS } from '../options.js';
import { TRIMS, type Trim } from '../shell/columns.js';
import type { InputSource, SourceGroup } from '../shell/inputs.js';
import type { RunOptions } from '../shell/options.js';

const OPTIONS_WITH_VALUE = new Set(['-j', '--jobs', '-P', '--joblog', '--jl', '--retries', '--halt', '--halt-on-error', '--timeout',
  '--shell', '-a', '--arg-file', '-C', '--colsep', '--trim']);
const FLAGS = new Set(['-k', '--keep-order', '--tag', '--resume', '--resume-failed', '--dry-run', '--bar', '-0', '--null', '-h', '--help']);
const MARKERS = new Set([':::', '::::', ':::+', '::::+']);

/** A command line forkjoin run cannot take: printed with the usage, exit 255. */
export class UsageError extends Error {}

export interface Parsed {
  help: boolean;
  /** Text, or bytes when a word of it is not UTF-8. */
  template: string | Buffer;
  groups: SourceGroup[];
  readsStdin: boolean;
  nul: boolean;
  /** --colsep: split each value into columns here; null: no columns. */
  colsep: RegExp | null;
  /** --trim, when given (--colsep implies lr). */
  trim: Trim | null;
  tag: boolean;
  bar: boolean;
  options: RunOptions;
}

/**
 * GNU parallel's --timeout: seconds, or floats with s, m, h, d (`1d3.5h16.6m4s`), or a
 * percentage of the median runtime (`300%`); 0 (or 0%) is no timeout, as GNU parallel's 0.
 */
function parseTimeout(text: string): RunOptions['timeout'] {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent !== null) return Number(percent[1]) === 0 ? undefined : (text as `${number}%`);
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
  if (!/^(\d+(\.\d+)?[smhd]?)+$/.test(text)) throw new UsageError(`--timeout must be seconds (30, 1.5, 2m, 1h30m) or a percentage of the median runtime (300%); got ${JSON.stringify(text)}`);
  let seconds = 0;
  for (const [, number, unit] of text.matchAll(/(\d+(?:\.\d+)?)([smhd]?)/g)) seconds += Number(number) * units[unit];
  if (seconds * 1000 > MAX_TIMER_MS) {
    throw new UsageError(`--timeout must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days); got ${JSON.stringify(text)}`);
  }
  return seconds === 0 ? undefined : seconds * 1000;
}

/** A --colsep value: a regular expression (JavaScript's syntax, which is Perl's for everyday separators). */
function parseColsep(name: string, text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (error) {
    throw new UsageError(`${name} must be a regular expression (such as , or '\\s+' or '[,;]'); got ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}

const SPACE = Buffer.from(' ');

/** Short flags that may be grouped as GNU parallel groups them: `-kj4` is `-k -j4`, `-0k` is `-0 -k`. */
const SHORT_FLAGS = new Set(['k', '0', 'h']);

export function parseArgs(given: readonly string[]): Parsed {
  const args = [...given];
  const options: RunOptions = {};
  const parsed: Parsed = { help: false, template: '', groups: [], readsStdin: false, nul: false, colsep: null, trim: null, tag: false, bar: false, options };
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
    } else if (/^-[jPaC]./.test(arg)) {
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
      case '-j': case '--jobs': case '-P': {
        // Checked now: `-j echo ::: a` took the command for the number of jobs.
        if (!/^\s*[+-]?\d+(?:\.\d+)?%?\s*$/.test(value ?? '')) throw new UsageError(`${name} must be N, N%, +N, -N or 0 (as many as possible); received ${JSON.stringify(value)}`);
        options.jobs = value;
        break;
      }
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
      case '--timeout': options.timeout = parseTimeout((value ?? '').trim()); break;
      case '--dry-run': options.dryRun = true; break;
      case '--bar': parsed.bar = true; break;
      case '--shell': options.shell = value; break;
      case '-0': case '--null': parsed.nul = true; break;
      case '-a': case '--arg-file': argFiles.push(value as string); break;
      case '-C': case '--colsep': parsed.colsep = parseColsep(name, value as string); break;
      case '--trim': {
        if (!TRIMS.includes(value as Trim)) throw new UsageError(`--trim must be n, l, r, lr or rl; got ${JSON.stringify(value)}`);
        parsed.trim = value as Trim;
        break;
      }
      case '-h': case '--help': parsed.help = true; break;
      default: throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  // The bytes of each argument as given (grouped short options were split above, before any value).
  const rawGiven = rawArgs(given);
  const shift = args.length - given.length;
  const raw = args.map((_, j) => (j >= shift ? rawGiven[j - shift] : null));
  const words: Buffer[] = [];
  let rawWords = false;
  for (; i < args.length && !MARKERS.has(args[i]); i++) {
    rawWords ||= raw[i] !== null;
    words.push(raw[i] ?? Buffer.from(args[i]));
  }
  // A template word that is not UTF-8 (a Latin-1 file name) is kept as its bytes.
  const template = Buffer.concat(words.flatMap((word, n) => (n === 0 ? [word] : [SPACE, word])));
  parsed.template = rawWords ? template : template.toString();
  for (const path of argFiles) parsed.groups.push([{ kind: 'file', path }]);
  while (i < args.length) {
    const marker = args[i++];
    const items: Array<string | Buffer> = [];
    while (i < args.length && !MARKERS.has(args[i])) {
      items.push(raw[i] ?? args[i]);
      i++;
    }
    const sources: InputSource[] = marker.startsWith('::::') ? items.map((path) => ({ kind: 'file', path })) : [{ kind: 'values', values: items }];
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
  if (!parsed.help && parsed.template.toString().trim() === '') throw new UsageError('give the COMMAND to run, e.g. forkjoin run \'gzip {}\' ::: a b');
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

