/**
 * Deadlock detection over the shared wait-for graph. The thread about to wait
 * has already published its wait; it follows "lock -> owner -> lock that owner
 * waits for -> ..." and, if the walk comes back to itself, re-reads every edge
 * to confirm the cycle still stands before reporting it: a real deadlock never
 * changes, while a walk made of stale reads does not survive the second read.
 * Only blocking waits (lockSync) are edges: a thread blocked in one can release
 * nothing until it returns, while a thread whose waits are async keeps running
 * and may still release what it holds, so a cycle through one proves nothing.
 *
 * The wait that fails is the one that closed the cycle: the latest to begin (its ticket,
 * registry.ts). Every other edge of a cycle is older: a thread takes the lock it holds in
 * the cycle before it blocks, and a blocked thread takes nothing.
 */
import { threadId } from 'node:worker_threads';
import { DeadlockError, callOutcome } from '../errors.js';
import { Lock, type Registry } from './registry.js';

interface Edge {
  base: number;
  owner: number; // slot
}

function walk(reg: Registry, start: number, me: number): Edge[] | null {
  const w = reg.words;
  const path: Edge[] = [];
  let base = start;
  for (let hops = 0; hops < 1024; hops++) {
    const owner = Atomics.load(w, base + Lock.Owner) - 1;
    if (owner < 0) return null;
    path.push({ base, owner });
    if (owner === me) return path;
    const next = reg.waitingOf(owner);
    if (next < 0) return null;
    base = reg.lockBase(next);
  }
  return null;
}

function stable(reg: Registry, path: Edge[], me: number): boolean {
  const w = reg.words;
  for (let i = 0; i < path.length; i++) {
    const edge = path[i];
    if (Atomics.load(w, edge.base + Lock.Owner) - 1 !== edge.owner) return false;
    if (edge.owner !== me && reg.waitingOf(edge.owner) !== reg.lockIndex(path[i + 1].base)) return false;
  }
  return true;
}

/** The member of the cycle whose wait closed it: the one with the latest ticket. */
function closer(reg: Registry, path: Edge[]): number {
  let victim = path[path.length - 1].owner;
  let latest = reg.ticketOf(victim);
  for (const edge of path) {
    const ticket = reg.ticketOf(edge.owner);
    if (ticket > latest) [victim, latest] = [edge.owner, ticket];
  }
  return victim;
}

/**
 * Throws a DeadlockError if waiting for the lock at `base` closes a cycle, in the thread
 * whose wait closed it. `names` resolves lock indexes this thread knows to their names.
 */
export function checkDeadlock(reg: Registry, base: number, names: (index: number) => string): void {
  const me = reg.slot;
  const path = walk(reg, base, me);
  if (path === null || !stable(reg, path, me)) return;
  // Usually the thread that closed the cycle finds it as it begins to wait, and fails. Threads
  // whose waits began at the same moment may all find it; exactly one fails, the one with the
  // latest ticket. Another finder wakes that thread, which checks again and fails, and keeps
  // waiting itself (the victim's failure releases what it held).
  const victim = closer(reg, path);
  if (victim !== me) {
    const awaited = reg.waitingOf(victim);
    if (awaited >= 0) Atomics.notify(reg.words, reg.lockBase(awaited) + Lock.State);
    return;
  }
  const cycle = path.map((edge, i) => ({
    thread: i === 0 ? threadId : reg.threadOfSlot(path[i - 1].owner),
    waitsFor: names(reg.lockIndex(edge.base)),
    heldBy: reg.threadOfSlot(edge.owner),
  }));
  const story = path.length === 1
    ? `thread ${threadId} waits for ${cycle[0].waitsFor}, which it already holds (a mutex is not re-entrant)`
    : cycle.map((step) => `thread ${step.thread} waits for ${step.waitsFor} held by thread ${step.heldBy}`).join(', ');
  throw callOutcome(new DeadlockError(
    `Deadlock: ${story}. Take locks in one order everywhere, or release before waiting`,
    { cycle },
  ));
}
