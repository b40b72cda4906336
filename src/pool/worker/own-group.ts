/**
 * A ProcessPool child leads a process group of its own (process-transport.ts): when it goes
 * because its parent did, the processes its tasks started (and did not detach) go with it.
 */
export function endOwnGroup(): void {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.kill(process.pid, 'SIGKILL'); // not a group's leader: started by hand
  }
}
