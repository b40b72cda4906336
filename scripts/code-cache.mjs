#!/usr/bin/env node
// Writes the library's V8 code caches (see src/load.ts) after running what programs run
// first: each executor started, a task run, mapped and closed; a graph computed; commands
// run. The functions that ran are compiled in the caches, so that a program's first calls
// do not compile them again. Then checks, in a new process, that V8 takes the caches.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

if (process.argv[2] === '--check') {
  const { LocalExecutor, compute, delayed, runCommands } = await import('../dist/index.js');
  const local = new LocalExecutor();
  await compute(delayed((x) => x + 1)(1), { executor: local });
  await local.close();
  for await (const job of runCommands('true {}', ['a'])) void job;
  console.log(JSON.stringify(require('../dist/load.cjs').codeCacheUse()));
  process.exit(0);
}

const { LocalExecutor, ProcessPool, ThreadPool, compute, delayed, runCommands, taskModule } = await import('../dist/index.js');
const tasks = taskModule('data:text/javascript,export const square = (x) => x * x;');
for (const executor of [new ThreadPool({ workers: 1 }), new ProcessPool({ workers: 1 }), new LocalExecutor()]) {
  await executor.run(tasks.square, [3]);
  await executor.map(tasks.square, [1, 2, 3], { chunksize: 'auto' });
  for await (const square of executor.imap(tasks.square, [4, 5])) void square;
  await executor.close();
}
const local = new LocalExecutor();
await compute(delayed(tasks.square)(delayed(tasks.square)(2)), { executor: local });
await local.close();
for await (const job of runCommands('true {}', ['a', 'b'])) void job;

const written = require('../dist/load.cjs').writeCodeCaches();
const check = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const used = check.status === 0 ? JSON.parse(check.stdout) : {};
const refused = Object.entries(used).filter(([, ok]) => !ok).map(([name]) => name);
if (check.status !== 0 || refused.length > 0 || used.forkjoin !== true) {
  console.error(`code-cache: V8 refused the caches just written (${refused.join(', ') || `exit ${check.status}`}): ${written.join(', ')}`);
  process.exit(1);
}
