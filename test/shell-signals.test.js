// Signals: SIGINT or SIGTERM to `forkjoin run` stops every running job's whole process group
// (SIGTERM, then SIGKILL after a grace period) and no child or grandchild outlives the runner;
// the exit status is 128 + the signal.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { filesAppear, processGone, processesGone, settleWithin, tempDir } from './fixtures/helpers.js';
import { forkjoinRun } from './fixtures/shell/cli.js';

const T = { timeout: 90_000 };
const grandchild = fileURLToPath(new URL('./fixtures/shell/grandchild.sh', import.meta.url));
const trapTerm = fileURLToPath(new URL('./fixtures/shell/trap-term.sh', import.meta.url));
const waitGo = fileURLToPath(new URL('./fixtures/shell/wait-go.sh', import.meta.url));
const escape = fileURLToPath(new URL('./fixtures/shell/escape.sh', import.meta.url));

/** The pids whose parent is `pid` (read from /proc). */
function childrenOf(pid) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return found;
}

/** Starts `forkjoin run sh SCRIPT {} ::: dir`; resolves once the job (and its grandchild) announced their pids. */
async function startJob(t, script, { env, pidFiles }) {
  const dir = tempDir(t);
  let child;
  const done = forkjoinRun(['sh', script, '{}', ':::', dir], { env, onSpawn: (c) => { child = c; } });
  const pids = [];
  const job = { dir, child, done, pids, gone: false };
  t.after(() => {
    // Whatever happened, leave nothing running - but never signal pids once they were seen gone:
    // the system may have given those numbers to other processes since.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (job.gone) return;
    for (const pid of pids) {
      if (processGone(pid)) continue;
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });
  await settleWithin(filesAppear(dir, pidFiles.length, (name) => pidFiles.includes(name)), 60_000, 'the job announcing itself');
  for (const name of pidFiles) pids.push(Number(readFileSync(join(dir, name), 'utf8')));
  return job;
}

/** Resolves once the state letter of process `pid` in /proc (R, S, T, ...) satisfies `wanted`. */
async function stateBecomes(pid, wanted) {
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (wanted(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once every pid of the job is gone (and marks them so, for the cleanup). */
async function allGone(job) {
  await processesGone(job.pids);
  job.gone = true;
}

for (const spawner of ['python', 'perl', 'node']) {
  describe(`forkjoin run under a signal (${spawner} spawner)`, () => {
    const env = { ...process.env, FORKJOIN_SPAWNER: spawner };

    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]]) {
      test(`${signal}: the job and its grandchild that ignores SIGTERM are gone, and the exit status is ${status}`, T, async (t) => {
        const job = await startJob(t, grandchild, { env, pidFiles: ['child.pid', 'grandchild.pid'] });
        job.child.kill(signal);
        const result = await job.done;
        assert.equal(result.code, status, result.stderr);
        await allGone(job);
      });
    }

    test('SIGINT: a process that left the job\'s group holding its output open does not keep the runner waiting past the grace period', T, async (t) => {
      const job = await startJob(t, escape, { env, pidFiles: ['child.pid', 'escaped.pid'] });
      job.child.kill('SIGINT');
      assert.equal((await job.done).code, 130);
    });

    test('--timeout: a job whose escaped process holds its output open is stopped as timed out, not waited for', T, async (t) => {
      const dir = tempDir(t);
      const result = await forkjoinRun(['--timeout', '1', 'sh', escape, '{}', ':::', dir], { env });
      const escaped = Number(readFileSync(join(dir, 'escaped.pid'), 'utf8'));
      t.after(() => { if (!processGone(escaped)) process.kill(escaped, 'SIGKILL'); });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /ran past its --timeout/);
    });

    test('SIGTSTP (Ctrl-Z) stops the job\'s whole group, then the runner; SIGCONT (fg) lets them go on', T, async (t) => {
      const job = await startJob(t, grandchild, { env, pidFiles: ['child.pid', 'grandchild.pid'] });
      job.child.kill('SIGTSTP');
      await settleWithin(stateBecomes(job.child.pid, (s) => s === 'T'), 30_000, 'the runner stopping');
      // T, or D for a shell stopped while it waited in vfork() for a child that the stop caught before its exec.
      for (const pid of job.pids) await settleWithin(stateBecomes(pid, (s) => s === 'T' || s === 'D'), 30_000, `job process ${pid} stopping`);
      job.child.kill('SIGCONT');
      for (const pid of [job.child.pid, ...job.pids]) await settleWithin(stateBecomes(pid, (s) => s !== 'T' && s !== 'D'), 30_000, `process ${pid} going on`);
      job.child.kill('SIGINT');
      assert.equal((await job.done).code, 130);
      await allGone(job);
    });

    test('the job gets SIGTERM first (a job that handles it ends cleanly)', T, async (t) => {
      const job = await startJob(t, trapTerm, { env, pidFiles: ['child.pid'] });
      job.child.kill('SIGINT');
      assert.equal((await job.done).code, 130);
      assert.equal(existsSync(join(job.dir, 'got-term')), true);
      await allGone(job);
    });
  });
}

for (const spawner of ['python', 'perl']) {
  test(`a runner killed with SIGKILL leaves no job behind: the ${spawner} spawner stops them`, T, async (t) => {
    const job = await startJob(t, grandchild, { env: { ...process.env, FORKJOIN_SPAWNER: spawner }, pidFiles: ['child.pid', 'grandchild.pid'] });
    const exited = once(job.child, 'exit');
    job.child.kill('SIGKILL');
    await exited;
    await allGone(job);
  });
}

for (const spawner of ['python', 'perl', 'node']) {
  test(`SIGTERM to the runner's whole process group (timeout(1) sends it so) ends it with 143 and no job's output (${spawner} spawner)`, T, async (t) => {
    const dir = tempDir(t);
    let child;
    const done = forkjoinRun(['-j', '2', 'sh', waitGo, '{}', dir, ':::', 'a', 'b', 'c'], {
      env: { ...process.env, FORKJOIN_SPAWNER: spawner }, detached: true, onSpawn: (c) => { child = c; },
    });
    t.after(() => { if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL'); });
    await settleWithin(filesAppear(dir, 2, (name) => name.startsWith('started-')), 60_000, 'two jobs starting');
    process.kill(-child.pid, 'SIGTERM');
    const result = await done;
    assert.equal(result.code, 143, result.stderr);
    assert.equal(result.stdout.toString(), '');
  });
}

for (const spawner of ['python', 'perl']) {
  test(`a SIGTERM meant for the runner's group stops no job behind the runner's back: sent to the ${spawner} helper alone, the run goes on`, T, async (t) => {
    const dir = tempDir(t);
    let child;
    const done = forkjoinRun(['-k', '-j', '2', 'sh', waitGo, '{}', dir, ':::', 'a', 'b'], {
      env: { ...process.env, FORKJOIN_SPAWNER: spawner }, onSpawn: (c) => { child = c; },
    });
    await settleWithin(filesAppear(dir, 2, (name) => name.startsWith('started-')), 60_000, 'two jobs starting');
    const helpers = childrenOf(child.pid);
    assert.equal(helpers.length, 1, `the runner has one child, its helper: ${helpers}`);
    process.kill(helpers[0], 'SIGTERM');
    writeFileSync(join(dir, 'go'), '');
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'a\nb\n');
  });
}
