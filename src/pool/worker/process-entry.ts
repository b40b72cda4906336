/**
 * Entry point of a ProcessPool child: the runtime over the IPC channel, plus a
 * watchdog thread that ends this process when its parent is gone, even while a
 * task keeps this thread's event loop busy.
 */
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
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
    send(message);
  },
  listen: (handler) => process.on('message', (message) => handler(message as PoolMessage)),
  canClone(value) {
    try {
      serialize(value);
      return true;
    } catch {
      return false;
    }
  },
});
