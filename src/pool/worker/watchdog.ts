/**
 * Runs on its own thread inside a ProcessPool child: when the parent process
 * dies (even by SIGKILL) the child is reparented, and this thread kills it.
 */
import { workerData } from 'node:worker_threads';

const { parent } = workerData as { parent: number };
const POLL_MS = 200;

setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, POLL_MS);
