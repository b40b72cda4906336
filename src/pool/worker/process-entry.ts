/**
 * Entry point of a ProcessPool child: the runtime over the IPC channel, plus a
 * watchdog thread that ends this process when its parent is gone, even while a
 * task keeps this thread's event loop busy.
 */
import { Worker } from 'node:worker_threads';
import { toWire, type WireValue } from '../../wire-error.js';
import { decodeMessage, encodeMessage } from '../process-codec.js';
import { Msg, type CrashedMessage, type PoolMessage, type WorkerMessage } from '../protocol.js';
import { sendOutput } from './output.js';
import { startRuntime } from './runtime.js';

if (typeof process.send !== 'function') throw new Error('forkjoin: process-entry.js runs only as a ProcessPool child');
const send = process.send.bind(process);

/** Messages handed to the IPC channel and not yet written, and what waits for them all to leave. */
let unsent = 0;
const whenAllSent: Array<() => void> = [];
/** Sends `message`, counting it until the channel has written it (process.exit would drop it). */
function post(message: unknown): void {
  const bytes = encodeMessage(message); // throws for what cannot be sent: the runtime salvages it
  unsent++;
  try {
    send(bytes, sent);
  } catch (error) {
    sent();
    throw error;
  }
}

function sent(): void {
  if (--unsent === 0) for (const then of whenAllSent.splice(0)) then();
}

const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { parent: process.ppid } });
watchdog.unref();

process.on('disconnect', () => process.exit(0));

// What JavaScript writes to stdout and stderr goes with the results; the inherited stdout and the
// stderr pipe still carry what Node and V8 write themselves (an uncaught exception, running out of
// memory) and what programs the task starts write.
sendOutput([1, 2], (message) => {
  if (process.connected) post(message);
});

let crashReported = false;
// Node prints an uncaught exception (or unhandled rejection) and exits with code 1 once this
// returns; the parent gets the error first, as a thread's 'error' event gives it. The write is
// tried at once, as the runtime's last results are on 'exit'.
process.on('uncaughtExceptionMonitor', (thrown) => {
  const fatal = process.listenerCount('uncaughtException') === 0 && !process.hasUncaughtExceptionCaptureCallback();
  if (!fatal || crashReported || !process.connected) return;
  crashReported = true;
  const error = toWire(thrown);
  try {
    send(encodeMessage({ k: Msg.Crashed, error } satisfies CrashedMessage));
  } catch {
    try { send(encodeMessage({ k: Msg.Crashed, error: bare(error) } satisfies CrashedMessage)); } catch { /* exiting anyway */ }
  }
});

/** `wire` without its properties and causes, which the channel refused. */
function bare(wire: WireValue): WireValue {
  return wire.error ? { error: true, name: wire.name, message: wire.message, stack: wire.stack, props: {} } : { error: false, value: wire.text, text: wire.text };
}

startRuntime({
  peer: 'the parent process',
  post: (message: WorkerMessage) => post(message),
  whenSent(then) {
    if (unsent === 0) then();
    else whenAllSent.push(then);
  },
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
