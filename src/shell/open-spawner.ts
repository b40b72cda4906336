/** Which spawner starts a run's jobs: a helper process when one is installed, else Node's own. */
import { HelperSpawner } from './helper-spawner.js';
import { NodeSpawner } from './node-spawner.js';
import { helperCandidates, type Spawner, type SpawnerEvents, type SpawnerOptions } from './spawner.js';

/** Perl's select() handles file descriptors below 1024: two per job (Python's poll() has no such limit). */
const PERL_MAX_JOBS = 400;

export function openSpawner(events: SpawnerEvents, options: SpawnerOptions): Spawner {
  const helpers = helperCandidates().filter((h) => h.kind === 'python' || options.concurrency <= PERL_MAX_JOBS);
  return helpers.length > 0 ? new HelperSpawner(helpers, events, options) : new NodeSpawner(events, options);
}
