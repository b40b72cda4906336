/** How the in-worker runtime talks to its pool: one implementation per transport (thread-entry.ts, process-entry.ts). */
import type { Transferable } from '../../transfer.js';
import type { PoolMessage, WorkerMessage } from '../protocol.js';

/** How the runtime talks to its pool; one implementation per transport. */
export interface RuntimePort {
  /** Sends a message; throws synchronously when part of it cannot be cloned. */
  post(message: WorkerMessage, transfer: Transferable[]): void;
  listen(handler: (message: PoolMessage) => void): void;
  canClone(value: unknown): boolean;
  /** Where results go, for error messages ("the calling thread"). */
  readonly peer: string;
  /** Whether a transferred buffer moves to the pool (a thread): a large result is then copied once and moved (copyOut). */
  readonly moves?: boolean;
  /** Words by which the pool takes back a call sent ahead before it begins (threads; see claims.ts). */
  readonly claims?: Int32Array;
  /** Called as the worker exits by itself (asked to, or process.exit() in a task): a thread ends the processes its tasks left running. */
  onExit?(): void;
}
