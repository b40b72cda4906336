/** Entry point of a ThreadPool worker: the runtime over the thread's parent port. */
import { parentPort, workerData } from 'node:worker_threads';
import { CLAIMS_KEY } from '../claims.js';
import type { PoolMessage } from '../protocol.js';
import { inheritTypeScriptLoader } from './loaders.js';
import { sendOutput } from './output.js';
import { startRuntime } from './runtime.js';

if (parentPort === null) throw new Error('forkjoin: thread-entry.js runs only as a worker thread');
const port = parentPort;
sendOutput([1, 2], (message) => port.postMessage(message));

await inheritTypeScriptLoader(process.execArgv);

startRuntime({
  peer: 'the calling thread',
  moves: true,
  claims: (workerData as Record<string, unknown> | null)?.[CLAIMS_KEY] as Int32Array,
  post: (message, transfer) => port.postMessage(message, transfer),
  listen: (handler) => port.on('message', (message: PoolMessage) => handler(message)),
  canClone(value) {
    try {
      structuredClone(value);
      return true;
    } catch {
      return false;
    }
  },
});
