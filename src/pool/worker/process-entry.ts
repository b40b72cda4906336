/**
 * Entry point of a ProcessPool child: the runtime over the IPC channel, plus a
 * watchdog thread that ends this process when its parent is gone, even while a
 * task keeps this thread's event loop busy.
 */
import { Worker } from 'node:worker_threads';
import { decodeMessage, encodeMessage } from '../process-codec.js';
import type { PoolMessage, WorkerMessage } from '../protocol.js';
import { startRuntime } from './runtime.js';

if (typeof process.send !== 'function') throw new Error('forkjoin: process-entry.js runs only as a ProcessPool child');
const send = process.send.bind(process);

const watchdog = new Worker(new URL('./watchdog.js', import.meta.url), { workerData: { parent: process.ppid } });
watchdog.unref();

process.on('disconnect', () => process.exit(0));

startRuntime({
  peer: 'the parent process',
  post: (message: WorkerMessage) => {
    send(encodeMessage(message));
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
