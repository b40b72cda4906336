/** Workers as threads of this process (worker_threads). */
import { Worker } from 'node:worker_threads';
import { registry } from '../sync/registry.js';
import { inheritableExecArgv, type LinkEvents, type Transport, type TransportOptions, type WorkerLink } from './transport.js';
import type { WorkerMessage } from './protocol.js';

const entry = new URL('./worker/thread-entry.js', import.meta.url);

export class ThreadTransport implements Transport {
  readonly where = 'a worker thread';
  #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  spawn(events: LinkEvents): WorkerLink {
    const { env, execArgv, maxHeapMb } = this.#options;
    const worker = new Worker(entry, {
      env: env ?? process.env,
      execArgv: execArgv ?? inheritableExecArgv(process.execArgv),
      resourceLimits: maxHeapMb === undefined ? undefined : { maxOldGenerationSizeMb: maxHeapMb },
      workerData: { sync: registry().buffer },
    });
    const tid = worker.threadId;
    let error: unknown = null;
    worker.on('message', (message: WorkerMessage) => events.message(message));
    worker.on('error', (err) => { error = err; });
    worker.on('exit', (code) => {
      // Locks the thread held are released, and their next owners told it died.
      registry().threadExited(tid);
      const oom = (error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      events.exit({ code, signal: null, oom, error });
    });
    return {
      send: (message, transfer) => worker.postMessage(message, transfer),
      stop: () => void worker.terminate(),
      kill: () => void worker.terminate(),
      ref: () => worker.ref(),
      unref: () => worker.unref(),
    };
  }

  canClone(value: unknown): boolean {
    try {
      structuredClone(value);
      return true;
    } catch {
      return false;
    }
  }

  cloneHint(): string {
    return '';
  }
}
