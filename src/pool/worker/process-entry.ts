/**
 * Entry point of a ProcessPool child: the runtime, reading the parent's messages on the IPC
 * channel and writing its own on a pipe of frames (frames.ts), plus a watchdog thread that ends
 * this process when its parent is gone, even while a task keeps this thread's event loop busy.
 */
import { Worker } from 'node:worker_threads';
import { toWire, type WireValue } from '../../wire-error.js';
import { FRAMES_FD, writeFrame } from '../frames.js';
import { decodeMessage, encodeMessage } from '../process-codec.js';
import { Msg, type CrashedMessage, type PoolMessage, type WorkerMessage } from '../protocol.js';
import { endOwnGroup } from './own-group.js';
import { sendOutput } from './output.js';
import { startRuntime } from './runtime.js';

if (typeof process.send !== 'function') throw new Error('forkjoin: process-entry.js runs only as a ProcessPool child');

/** Sends `message` to the parent: written out before this returns (frames.ts). */
function post(message: unknown): void {
  writeFrame(FRAMES_FD, encodeMessage(message)); // throws for what cannot be sent: the runtime salvages it
}

const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { parent: process.ppid } });
watchdog.unref();

// The parent is gone (or let go of this child): so is this process, once the runtime's last words
// are out (its 'exit' listener), and then what its tasks started (the listener added last, below).
let orphaned = false;
process.on('disconnect', () => {
  orphaned = true;
  process.exit(0);
});

// What JavaScript writes to stdout and stderr goes with the results; the inherited stdout and the
// stderr pipe still carry what Node and V8 write themselves (an uncaught exception, running out of
// memory) and what programs the task starts write.
sendOutput([1, 2], (message) => {
  try {
    post(message);
  } catch (error) {
    // The parent is gone (this process follows it shortly, see watchdog.ts): nobody reads it.
    if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
  }
});

let crashReported = false;
// Node prints an uncaught exception (or unhandled rejection) and exits with code 1 once this
// returns; the parent gets the error first, as a thread's 'error' event gives it.
process.on('uncaughtExceptionMonitor', (thrown) => {
  const fatal = process.listenerCount('uncaughtException') === 0 && !process.hasUncaughtExceptionCaptureCallback();
  if (!fatal || crashReported) return;
  crashReported = true;
  const error = toWire(thrown);
  try {
    post({ k: Msg.Crashed, error } satisfies CrashedMessage);
  } catch {
    try { post({ k: Msg.Crashed, error: bare(error) } satisfies CrashedMessage); } catch { /* exiting anyway */ }
  }
});

/** `wire` without its properties and causes, which the channel refused. */
function bare(wire: WireValue): WireValue {
  return wire.error ? { error: true, name: wire.name, message: wire.message, stack: wire.stack, props: {} } : { error: false, value: wire.text, text: wire.text };
}

startRuntime({
  peer: 'the parent process',
  post: (message: WorkerMessage) => post(message),
  listen: (handler) => process.on('message', (message) => handler(decodeMessage(message) as PoolMessage)),
  canClone(value) {
    try {
      encodeMessage(value);
      return true;
    } catch {
      return false;
    }
  },
});
process.on('exit', () => {
  if (orphaned) endOwnGroup();
});

