/**
 * Runs on its own thread inside a ProcessPool child: when the parent process
 * dies (even by SIGKILL) the child is reparented, and this thread kills it, with
 * its process group (what its tasks started and did not detach).
 */
import { workerData } from 'node:worker_threads';
import { endOwnGroup } from './own-group.js';

const { parent } = workerData as { parent: number };
const POLL_MS = 200;

setInterval(() => {
  if (process.ppid !== parent) endOwnGroup();
}, POLL_MS);
