#!/usr/bin/env node
/**
 * The `forkjoin` command, a thin adapter over the library: it picks a subcommand, maps its
 * arguments to a call, and maps the outcome to an exit code (0 ok, 1 failed, 2 usage error).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageJson } from '../paths.js';
import { discardEarlyHelper, prestartHelper } from '../shell/helper-process.js';
import { demoExamples, runDemo } from './demo.js';

interface Command {
  usage: string;
  run(args: string[]): Promise<number>;
}

/** Each command's code loads when it is used, so that `forkjoin run` starts without the rest. */
interface Entry {
  summary: string;
  load(): Promise<Command>;
}

const demoCommand: Command = {
  usage: `forkjoin demo [example...]\n\nexamples: ${demoExamples.map((e) => e.name).join(', ')} (default: all, in this order)`,
  async run(args: string[]): Promise<number> {
    const unknown = args.filter((name) => !demoExamples.some((e) => e.name === name));
    const [option] = unknown.filter((name) => name.startsWith('-'));
    if (option !== undefined) return usageError(`unknown option ${JSON.stringify(option)}`, this.usage);
    if (unknown.length > 0) return usageError(`unknown example ${unknown.map((n) => JSON.stringify(n)).join(', ')}`, this.usage);
    const outcomes = await runDemo(args.length > 0 ? args : undefined);
    return outcomes.every((o) => o.ok) ? 0 : 1;
  },
};

const commands: Readonly<Record<string, Entry>> = Object.freeze({
  demo: {
    summary: 'run the classic examples on a thread pool; print what each did and how long it took',
    load: async () => demoCommand,
  },
  run: {
    summary: 'run a shell command over many inputs in parallel, as GNU parallel does (forkjoin run --help)',
    // Built as CommonJS beside this file (see scripts/build.mjs): required, not imported.
    load: async () => (createRequire(import.meta.url)('./run.cjs') as typeof import('./run.js')).runCommand,
  },
  engine: {
    summary: 'run a cluster engine: pull tasks from Redis, run them on a local pool',
    load: async () => (await import('./engine.js')).engineCommand,
  },
  cluster: {
    summary: 'start, stop or list engines on this machine (start -n N, stop, status)',
    load: async () => (await import('./cluster.js')).clusterCommand,
  },
});

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'usage: forkjoin <command> [options]',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     show this help (or a command\'s: forkjoin <command> --help)',
    '  -v, --version  show the version',
  ].join('\n');
}

function usageError(problem: string, text: string): number {
  process.stderr.write(`forkjoin: ${problem}\n\nusage: ${text}\n`);
  return 2;
}

function lookup(name: string): Entry | undefined {
  return Object.hasOwn(commands, name) ? commands[name] : undefined;
}

function unknownCommand(name: string): number {
  const what = name.startsWith('-') ? 'option' : 'command';
  process.stderr.write(`forkjoin: unknown ${what} ${JSON.stringify(name)}\n\n${usage()}\n`);
  return 2;
}

function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(packageJson, 'utf8'));
  const v = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof v === 'string' ? v : 'unknown';
}

async function cli(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${usage()}\n`);
    return 2;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic === undefined) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    const entry = lookup(topic);
    if (entry === undefined) return unknownCommand(topic);
    process.stdout.write(`usage: ${(await entry.load()).usage}\n`);
    return 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const entry = lookup(first);
  if (entry === undefined) return unknownCommand(first);
  // The job helper starts while the run command's code loads (and exits if no run takes it).
  if (first === 'run' && !rest.some((arg) => /^(-h|--help|--dry-run)$/.test(arg))) prestartHelper();
  const command = await entry.load();
  // `run` reads its own -h/--help: later ones belong to the command it runs (`du -h`).
  if (first !== 'run' && (rest.includes('-h') || rest.includes('--help'))) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

cli(process.argv.slice(2)).finally(discardEarlyHelper).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
