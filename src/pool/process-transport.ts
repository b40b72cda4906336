/**
 * Workers as child processes (child_process.fork), for crash isolation,
 * separate heaps and other execArgv. Messages are serialized by process-codec,
 * so values cross much as they do between threads: the parent's on the IPC
 * channel, a child's on a pipe of frames (frames.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../builtins.js';
import { processEntry } from '../paths.js';
import type { Readable } from 'node:stream';
import { FRAMES_FD, FrameReader } from './frames.js';
import { decodeMessage, encodeMessage } from './process-codec.js';
import { Msg, type ChildMessage, type PoolMessage } from './protocol.js';
import { writeAroundBars } from '../progress.js';
import { fromWire } from '../wire-error.js';
import type { Transferable } from '../transfer.js';
import { describeType } from '../task.js';
import { STOP_GRACE_MS, endAtExit, inheritableExecArgv, type LinkEvents, type Transport, type TransportOptions, type WorkerLink } from './transport.js';

const entry = fileURLToPath(processEntry);
/** Loaded on first use: a ThreadPool-only program never pays for child_process (and net). */
let fork: typeof import('node:child_process').fork | null = null;
const KILL_GRACE_MS = 1_000;
const STDERR_TAIL = 4_096;
const STDERR_WAIT_MS = 250;
const FRAMES_WAIT_MS = 2_000;

/** Children still alive: killed if this process exits without closing its pools. */
const live = new Set<ChildProcess>();

/** Signals `child` and every process in its group: what its tasks started, unless they detached it. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is empty (ESRCH); a child that never started has none.
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

/** The last lines of `text`, 300 characters at most; undefined when there are none. */
function lastLines(text: string): string | undefined {
  const lines = text.trimEnd().split('\n').slice(-3).join('\n').trim();
  return lines === '' ? undefined : lines.slice(-300);
}

/** Whether a pipe from the child keeps this process alive (a socket's ref() and unref()). */
function holds(stream: Readable | null | undefined, hold: boolean): void {
  const socket = stream as unknown as { ref?: () => void; unref?: () => void } | null | undefined;
  if (hold) socket?.ref?.();
  else socket?.unref?.();
}

let warnedForeign = false;

function warnForeignMessage(): void {
  if (warnedForeign) return;
  warnedForeign = true;
  process.emitWarning('A ProcessPool task sent a message with process.send(); the channel to a ProcessPool child is forkjoin\'s, and such messages are dropped. Return values from the task instead.', { code: 'FORKJOIN_FOREIGN_MESSAGE' });
}

export class ProcessTransport implements Transport {
  readonly where = 'a child process';
  readonly moves = false;
  #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  spawn(events: LinkEvents): WorkerLink {
    const { env, execArgv, maxHeapMb } = this.#options;
    const argv = execArgv ?? inheritableExecArgv(process.execArgv);
    fork ??= childProcess().fork;
    const child = fork(entry, [], {
      env: env ?? process.env,
      execArgv: maxHeapMb === undefined ? argv : [...argv, `--max-old-space-size=${maxHeapMb}`],
      serialization: 'advanced',
      // fd 4: the child's messages (frames.ts).
      stdio: ['ignore', 'inherit', 'pipe', 'ipc', 'pipe'],
      // Its own process group, so that stopping it stops what its tasks started (killGroup).
      detached: true,
    });
    endAtExit(live, (child) => { killGroup(child, 'SIGKILL'); });
    live.add(child);
    let tail = '';
    // Seen as it came: the native stack trace V8 prints after it can outgrow the tail.
    let heapFull = false;
    let spawnError: unknown = null;
    /** What the child said ended it (an uncaught exception), once it did. */
    let crash: { error: unknown } | null = null;
    // A child's stderr is passed through; its tail tells an out-of-memory death from other crashes.
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
      heapFull ||= /heap out of memory|Reached heap limit/i.test(tail);
    });
    // A message this process cannot read (too deeply nested for its stack: the child's held it) is
    // lost, and the results it carried: the child is stopped as if it had crashed.
    let unreadable: unknown = null;
    // Absent when Node could not start it at all (EMFILE): it then says why in an 'error' event only.
    const frames = child.stdio?.[FRAMES_FD] as Readable | undefined;
    const reader = new FrameReader((bytes) => {
      if (unreadable !== null) return;
      let message: ChildMessage;
      try {
        message = decodeMessage(bytes) as ChildMessage;
      } catch (err) {
        unreadable = err;
        killGroup(child, 'SIGKILL');
        return;
      }
      if (message.k === Msg.Crashed) crash ??= { error: fromWire(message.error) };
      else if (message.k === Msg.Output) writeAroundBars(message.fd, message.data);
      else events.message(message);
    });
    frames?.on('data', (chunk: Buffer) => reader.push(chunk));
    // The IPC channel is the parent's way in; what a task sends on it itself (process.send) has no reader.
    child.on('message', () => warnForeignMessage());
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        // Never started, so no 'exit' follows: it ends here, with this as its cause.
        live.delete(child);
        events.exit({ code: null, signal: null, oom: false, error: err });
        return;
      }
      // Writing to a child already gone (EPIPE) says nothing of why it went.
      if (err.code !== 'EPIPE' && err.code !== 'ERR_IPC_CHANNEL_CLOSED') spawnError = err;
    });
    const timers: NodeJS.Timeout[] = [];
    let exited = false;
    child.on('exit', (code, signal) => {
      exited = true;
      live.delete(child);
      for (const timer of timers) clearTimeout(timer);
      // What its tasks started and left running goes with it.
      killGroup(child, 'SIGKILL');
      let reported = false;
      const report = (): void => {
        if (reported || !framesRead) return;
        reported = true;
        // A grandchild that inherited stderr (or, handed it on purpose, fd 4) may hold it open: it must not keep this process alive.
        holds(child.stderr, false);
        holds(frames, false);
        events.exit({
          // V8 aborts when the heap is full; the text alone could be anyone's.
          code, signal, oom: signal === 'SIGABRT' && heapFull,
          error: crash === null ? spawnError : crash.error, unreadable: unreadable ?? undefined, lastWords: lastLines(tail),
        });
      };
      // Its messages are all read first: the calls they answer are not the dead child's to blame.
      let framesRead = frames === undefined || frames.readableEnded || frames.destroyed;
      if (!framesRead && frames !== undefined) {
        const read = (): void => {
          framesRead = true;
          report();
        };
        frames.once('end', read);
        frames.once('close', read);
        // What it wrote before it died is read at once; a pipe still open after this, a process it started holds.
        setTimeout(read, FRAMES_WAIT_MS).unref();
      }
      // Let the rest of stderr arrive before judging why the child died, but never wait on a
      // grandchild that inherited the pipe.
      if (child.stderr && !child.stderr.readableEnded) {
        child.stderr.once('close', report);
        setTimeout(report, STDERR_WAIT_MS).unref();
      } else report();
    });
    const channel = (child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    const signalLater = (signal: NodeJS.Signals, ms: number): void => {
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) killGroup(child, signal);
      }, ms);
      timer.unref();
      timers.push(timer);
    };
    return {
      send: (message: PoolMessage, transfer: Transferable[]) => {
        // Nothing moves to another process: an ArrayBuffer in `transfer` is copied, anything else cannot go.
        const bad = transfer.find((item) => !(item instanceof ArrayBuffer));
        if (bad !== undefined) throw new TypeError(`${describeType(bad)} in the transfer list cannot go to a child process: only ArrayBuffers can (they are copied)`);
        if (child.connected) child.send(encodeMessage(message));
      },
      // Asked to exit, it exits by itself; one that does not gets SIGTERM, then SIGKILL.
      stop: () => {
        if (child.connected) child.send(encodeMessage({ k: Msg.Shutdown } satisfies PoolMessage));
        signalLater('SIGTERM', STOP_GRACE_MS);
        signalLater('SIGKILL', STOP_GRACE_MS * 2);
      },
      kill: () => {
        signalLater('SIGTERM', 0);
        signalLater('SIGKILL', KILL_GRACE_MS);
      },
      ref: () => {
        if (exited) return;
        child.ref();
        channel?.ref();
        holds(child.stderr, true);
        holds(frames, true);
      },
      unref: () => {
        child.unref();
        channel?.unref();
        holds(child.stderr, false);
        holds(frames, false);
      },
    };
  }

  canClone(value: unknown): boolean {
    try {
      encodeMessage(value);
      return true;
    } catch {
      return false;
    }
  }

  cloneHint(what: string): string {
    return what.endsWith('SharedArrayBuffer') ? ' Memory can be shared only between threads: use a ThreadPool.' : '';
  }
}
