/** Entry point of a ThreadPool worker: the runtime over the thread's parent port. */
import { parentPort, workerData } from 'node:worker_threads';
import { CLAIMS_KEY } from '../claims.js';
import type { PoolMessage } from '../protocol.js';
import { inheritTypeScriptLoader } from './loaders.js';
import { sendOutput } from './output.js';
import { startRuntime } from './runtime.js';
import { OS_THREAD_KEY, killStartedBy, ownThreadId } from '../thread-children.js';

if (parentPort === null) throw new Error('forkjoin: thread-entry.js runs only as a worker thread');
const port = parentPort;
const data = workerData as Record<string, unknown> | null;
// Published first, before any task can start a process: the pool finds them by it (thread-children.ts).
const osThread = ownThreadId();
const osThreadWord = data?.[OS_THREAD_KEY];
if (osThreadWord instanceof Int32Array) Atomics.store(osThreadWord, 0, osThread);
sendOutput([1, 2], (message) => port.postMessage(message));

await inheritTypeScriptLoader(process.execArgv);

startRuntime({
  peer: 'the calling thread',
  moves: true,
  claims: data?.[CLAIMS_KEY] as Int32Array,
  // What its tasks started and left running goes with the thread, as a ProcessPool child's process group does.
  onExit: () => { killStartedBy(osThread); },
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
