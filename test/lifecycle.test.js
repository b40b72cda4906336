// Lifecycle, proven in child processes where nothing but the pool holds the
// event loop: programs end by themselves after close() or terminate(), pending
// work keeps them alive until it is done, and a ProcessPool leaves no orphans.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { PoolKinds, filesAppear, processGone, processesGone, runNode, settleWithin, tempDir } from './fixtures/helpers.js';
import { needScript, onTerminal, screen } from './fixtures/terminal.js';

const T = { timeout: 180_000 };
const scenario = fileURLToPath(new URL('./fixtures/scenario.js', import.meta.url));
const orphanParent = fileURLToPath(new URL('./fixtures/orphan-parent.js', import.meta.url));

/** Scenario name in fixtures/scenario.js, and what finishing it with exit code 0 proves. */
const scenarios = [
  ['close', 'close() finishes the work submitted before it, then the process exits by itself with code 0'],
  ['close-during-map', 'a map started before close() completes, then the process exits by itself with code 0'],
  ['terminate', 'after terminate() resolves the process exits by itself with code 0'],
  ['idle', 'an idle pool that was never closed lets the process exit with code 0'],
  ['min-workers-idle', 'a pool warming up to minWorkers and never closed lets the process exit with code 0'],
  ['close-while-warming', 'close() while a minWorkers warm-up worker is starting stops it, then the process exits with code 0'],
  ['cancel-while-starting', 'a call cancelled while its worker is still in a long setup lets the process exit with code 0'],
  ['one-worker-still-starting', 'the worker ready first runs the call, and one still in a long setup lets the process exit with code 0'],
  ['recycle', 'a pool recycling its workers (maxTasksPerWorker) completes every task, then the process exits with code 0'],
  ['imap-break-then-close', 'close() after breaking out of an imap resolves, then the process exits with code 0'],
  ['imap-break-then-terminate', 'terminate() after breaking out of an imap resolves, then the process exits with code 0'],
  ['imap-never-iterated-then-close', 'close() with imaps that were never iterated resolves, then the process exits with code 0'],
  ['imap-abandoned-then-close', 'close() with an imap abandoned after its first result resolves, then the process exits with code 0'],
  ['run-after-failed-map', 'a call made after a failed map (its running chunks finish unobserved) runs, then the process exits with code 0'],
  ['run-after-imap-break', 'a call made after breaking out of an imap runs, then the process exits with code 0'],
  ['exit-in-task', 'after a worker exited the pool runs the next task, then the process exits with code 0'],
  ['timeout', 'after a task timed out the pool runs the next task, then the process exits with code 0'],
  ['abort-running', 'after a running task was aborted the pool runs the queued task, then the process exits with code 0'],
];

for (const E of PoolKinds) {
  describe(`${E.name} in a program of its own`, () => {
    for (const [name, proves] of scenarios) {
      test(proves, T, async () => {
        const result = await runNode([scenario, E.name, name]);
        assert.match(result.stdout, /^done$/m, `the scenario did not finish (exit code ${result.code}${result.code === 13 ? ": a top-level await never settled and nothing held the event loop" : ""}); stderr:\n${result.stderr}`);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.signal, null);
      });
    }
  });
}

for (const E of PoolKinds) {
  test(`${E.name}: every line tasks print reaches stdout and stderr before close() resolves (four pools in turn)`, T, async () => {
    const result = await runNode([scenario, E.name, 'print-then-close']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n').filter((line) => /^task \d line \d+$/.test(line)).length, 8000);
    assert.equal(result.stderr.split('\n').filter((line) => /^task \d note \d+$/.test(line)).length, 8000);
  });
}

for (const E of PoolKinds) {
  test(`${E.name}: what a task prints to stdout and stderr comes out before the caller has its result`, T, async () => {
    const result = await runNode([scenario, E.name, 'print-in-order']);
    assert.equal(result.code, 0, result.stderr);
    const expected = (what) => Array.from({ length: 40 }, (_, i) => [`task ${what}${i}`, `after ${what}${i}`]).flat();
    assert.deepEqual(result.stdout.split('\n').filter((line) => /^(task|after) \d+$/.test(line)), expected(''));
    assert.deepEqual(result.stderr.split('\n').filter((line) => /^(task|after) note \d+$/.test(line)), expected('note '));
  });

  test(`${E.name}: what a task prints before it calls process.exit() comes out, in order, before its error`, T, async () => {
    const result = await runNode([scenario, E.name, 'print-then-exit']);
    assert.equal(result.code, 0, result.stderr);
    const lines = (text, pattern) => text.split('\n').filter((line) => pattern.test(line));
    assert.deepEqual(lines(result.stdout, /^(last words \d|bytes|after exit)$/), ['last words 0', 'last words 1', 'last words 2', 'last words 3', 'last words 4', 'bytes', 'after exit']);
    assert.deepEqual(lines(result.stderr, /^(last note \d|hid|after exit note)$/), ['last note 0', 'last note 1', 'last note 2', 'last note 3', 'last note 4', 'hid', 'after exit note']);
  });
}

for (const E of PoolKinds) {
  test(`${E.name}: a 1 MiB write just before a task calls process.exit() comes out whole`, T, async () => {
    const result = await runNode([scenario, E.name, 'print-much-then-exit']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.split('\n').includes('y'.repeat(1 << 20)), `stdout held ${result.stdout.length} characters`);
  });

  test(`${E.name}: a 2 MiB result finished just before the next task on its worker calls process.exit() is delivered, and ran once`, T, async () => {
    const result = await runNode([scenario, E.name, 'result-then-exit']);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });
}

/** A pool of `kind` started `sleep` in its tasks, then was closed, terminated, or timed out: every `sleep` ends. */
function grandchildrenEnd(kind) {
  return async (t) => {
    const result = await runNode([scenario, kind, 'grandchildren-end']);
    const pids = (/^pids (.+)$/m.exec(result.stdout)?.[1] ?? '').split(' ').filter(Boolean).map(Number);
    t.after(() => { for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(pids.length, 3, result.stdout);
    await processesGone(pids, 30_000);
  };
}

/** Runs the program `args`, which prints "pids <pid>" of a process its task started (killed after the test, if it is left): it exits with 0. */
async function runStarting(t, args) {
  const result = await runNode(args, { deadlineMs: 45_000 });
  const pid = Number(/^pids (\d+)$/m.exec(result.stdout)?.[1]);
  t.after(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(pid > 0, result.stdout);
  return { result, pid };
}

describe('ProcessPool children and what their tasks start', () => {
  test('a task that sends on its IPC channel itself (process.send) neither crashes the caller nor fails: the message is dropped with a warning', T, async () => {
    const result = await runNode([scenario, 'ProcessPool', 'process-send']);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /FORKJOIN_FOREIGN_MESSAGE/);
  });

  test('processes a task started in the background end with its worker: after close(), terminate() and a timeout', T, grandchildrenEnd('ProcessPool'));

  test('a child that cannot be spawned (out of file descriptors) fails the call with FJ_WORKER_START_FAILED; the caller goes on and exits', T, async () => {
    const result = await runNode(['-e', `require('node:child_process').execFileSync('sh', ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, ${JSON.stringify(scenario)}, 'ProcessPool', 'spawn-fails'], { stdio: 'inherit' })`]);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });

  test('a detached grandchild handed the child\'s message pipe does not keep the pool from seeing the child exit', T, async () => {
    const result = await runNode([scenario, 'ProcessPool', 'grandchild-holds-message-pipe'], { deadlineMs: 45_000 });
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });

  test('a grandchild that detached itself and holds the worker\'s stderr does not keep the caller alive after close()', T, async (t) => {
    const { result, pid } = await runStarting(t, [scenario, 'ProcessPool', 'detached-grandchild-holds-stderr']);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(processGone(pid), false, 'the detached grandchild outlived the pool, as it asked');
  });
});

describe('ThreadPool threads and what their tasks start', () => {
  test('processes a task started in the background end with its thread: after close(), terminate() and a timeout', T, grandchildrenEnd('ThreadPool'));

  test('a process a task started detached outlives the pool, as it asked', T, async (t) => {
    const { result, pid } = await runStarting(t, [scenario, 'ThreadPool', 'detached-survives']);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(processGone(pid), false, 'the detached process outlived the pool');
  });

  test('a task blocked in execSync that times out has its command killed: the next call runs at once, nothing is left running', T, async (t) => {
    const { result, pid } = await runStarting(t, [scenario, 'ThreadPool', 'execsync-timeout']);
    assert.match(result.stdout, /^done$/m, result.stderr);
    await processesGone([pid], 30_000);
  });

  test('a thread the pool terminated that exited while the caller was busy for 3 s is not reported stuck', T, async () => {
    const result = await runNode([scenario, 'ThreadPool', 'busy-after-timeout'], { deadlineMs: 45_000 });
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.doesNotMatch(result.stdout, /warned stuck/);
    assert.doesNotMatch(result.stderr, /FORKJOIN_WORKER_STUCK/);
    assert.equal(result.code, 0, result.stderr);
  });

  test('at most `workers` threads that cannot be stopped are set aside: past that the pool waits for them, then goes on', T, async () => {
    const result = await runNode([scenario, 'ThreadPool', 'stuck-limit'], { deadlineMs: 60_000 });
    assert.match(result.stdout, /^third pending; workers 1; threads \+1$/m, result.stderr);
    assert.match(result.stdout, /^warnings aside kept$/m, result.stderr);
    assert.match(result.stdout, /^third released$/m, result.stderr);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });

  test('a process a task started ends when the caller exits with process.exit()', T, async (t) => {
    const { pid } = await runStarting(t, [fileURLToPath(new URL('./fixtures/exit-with-child.js', import.meta.url))]);
    await processesGone([pid], 30_000);
  });

  test('a thread blocked in a read that terminate() cannot interrupt: the pool warns, replaces it, runs the next call, and close() resolves', T, async () => {
    const result = await runNode([scenario, 'ThreadPool', 'stuck-in-read'], { deadlineMs: 45_000 });
    assert.match(result.stdout, /^closed$/m, result.stderr);
    assert.match(result.stdout, /^done$/m, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /FORKJOIN_WORKER_STUCK.*a task on it timed out/);
  });
});

/** `script` runs a command on a pseudo-terminal (util-linux); null when it is not installed. */
function scriptCommand() {
  const found = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return found.error === undefined && found.status === 0 ? 'script' : null;
}

describe('output under a progress bar on a terminal', () => {
  const script = scriptCommand();
  for (const E of PoolKinds) {
    test(`${E.name}: a line a task prints clears the bar's line first, and the bar is drawn again after it`, T, async (t) => {
      if (script === null) {
        assert.ok(!process.env.CI, 'util-linux `script` is needed to give the test a terminal, and CI is set');
        t.skip('util-linux `script` is not installed: no terminal to draw a bar on');
        return;
      }
      const command = [process.execPath, scenario, E.name, 'print-under-bar'].map((word) => `'${word}'`).join(' ');
      const result = await runNode(['-e', `
        const { spawnSync } = require('node:child_process');
        const r = spawnSync('script', ['-q', '-e', '-c', ${JSON.stringify(command)}, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        process.stdout.write(r.stdout);
        process.exitCode = r.status;
      `]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const pieces = result.stdout.split('line from ');
      assert.equal(pieces.length, 9, result.stdout);
      // Each line starts the output, follows a newline, or follows the bar's line cleared.
      for (const before of pieces.slice(0, -1)) {
        assert.ok(before === '' || before.endsWith('\n') || before.endsWith('\r\x1b[2K'), `a task's line ran into the bar: ${JSON.stringify(before.slice(-80))}`);
      }
      assert.match(result.stdout, /100% 40\/40/);
    });
  }
});

describe('progress bars on a terminal among what the program prints', () => {
  const bars = fileURLToPath(new URL('./fixtures/bars.js', import.meta.url));
  /** What the terminal shows at the end of `scenario` in fixtures/bars.js: its bars' lines and the others; every bar line whole. */
  async function shown(t, scenario) {
    if (!needScript(t)) return null;
    const { code, output } = await onTerminal([process.execPath, bars, scenario]);
    const lines = screen(output);
    assert.equal(code, 0, lines.join('\n'));
    const barLines = lines.filter((line) => /[█░]/.test(line));
    for (const line of barLines) assert.match(line, /^\S+ [█░]{24} +\d+% \d+\/\d+( \d+ failed)? [\d.,]+(\/s|s\/it)( ETA \w+)?$/, `output ran into a bar:\n${lines.join('\n')}`);
    return { bars: barLines, others: lines.filter((line) => !/[█░]/.test(line)), lines };
  }
  const sorted = (lines) => [...lines].sort();

  test("a caller's console.log in the loop of an imap that draws a bar starts a line of its own, the bar staying below", T, async (t) => {
    const seen = await shown(t, 'consumer-log');
    if (seen === null) return;
    assert.deepEqual(seen.others, [...Array.from({ length: 20 }, (_, i) => `got ${i}`), 'done'], seen.lines.join('\n'));
    assert.deepEqual(seen.bars.map((line) => /\d+\/\d+/.exec(line)[0]), ['20/20']);
  });

  test("what a LocalExecutor's task writes to stdout and stderr under its map's bar starts a line of its own", T, async (t) => {
    const seen = await shown(t, 'local-task-log');
    if (seen === null) return;
    const expected = Array.from({ length: 20 }, (_, i) => [`task ${i}`, `note ${i}`]).flat();
    assert.deepEqual(sorted(seen.others), sorted([...expected, 'done']), seen.lines.join('\n'));
    assert.deepEqual(seen.bars.map((line) => /\d+\/\d+/.exec(line)[0]), ['20/20']);
  });

  test('two imaps drawing bars at once draw one line each', T, async (t) => {
    const seen = await shown(t, 'two-bars');
    if (seen === null) return;
    assert.deepEqual(sorted(seen.others), sorted(['got 0', 'got 5', 'got 10', 'got 15', 'got 0', 'got 5', 'got 10', 'got 15', 'done']), seen.lines.join('\n'));
    assert.deepEqual(seen.bars.map((line) => /\d+\/\d+/.exec(line)[0]), ['20/20', '20/20']);
  });

  test('the bar a failed map leaves shows its failure', T, async (t) => {
    const seen = await shown(t, 'failed-map');
    if (seen === null) return;
    assert.equal(seen.bars.length, 1, seen.lines.join('\n'));
    assert.match(seen.bars[0], / 1 failed /);
  });

  test('a line written in pieces under a bar stays whole, and process.stdout.write and process.stderr.write are put back after the bar', T, async (t) => {
    const seen = await shown(t, 'partial-line');
    if (seen === null) return;
    assert.deepEqual(seen.others, ['one line written in pieces', 'done'], seen.lines.join('\n'));
    assert.deepEqual(seen.bars.map((line) => /\d+\/\d+/.exec(line)[0]), ['12/12']);
  });

  test('a bar shows the counts of inputs that ended together within its redraw interval before the next input ends', T, async (t) => {
    if (!needScript(t)) return;
    const { code, output } = await onTerminal([process.execPath, bars, 'quiet-end']);
    assert.equal(code, 0, screen(output).join('\n'));
    // The last input ends a second after the others: the bar said 3/4 meanwhile, not only 1/4 and then 4/4.
    assert.match(output, / 3\/4 /, JSON.stringify(output));
  });

  test('a program that dies of an uncaught error, or calls process.exit(), while a bar is shown leaves the bar a line of its own', T, async (t) => {
    if (!needScript(t)) return;
    for (const [scenario, exitCode] of [['crash-under-bar', 1], ['exit-under-bar', 0]]) {
      const { code, output } = await onTerminal([process.execPath, bars, scenario]);
      const lines = screen(output);
      assert.equal(code, exitCode, lines.join('\n'));
      const bar = lines.findIndex((line) => /[█░]/.test(line));
      assert.ok(bar >= 0, lines.join('\n'));
      assert.match(lines[bar], /^\S+ [█░]{24} +\d+% \d+\/\d+ [\d.,]+(\/s|s\/it)( ETA \w+)?$/, `the error ran into the bar:\n${lines.join('\n')}`);
      // The line the bar is on ends: what follows (the error, a shell prompt) starts a line of its own.
      assert.ok(output.endsWith('\n'), `${scenario}: the output ends without a newline: ${JSON.stringify(output.slice(-80))}`);
      if (scenario === 'crash-under-bar') assert.ok(lines.slice(bar + 1).some((line) => line.includes('fatal while the bar was shown')), lines.join('\n'));
    }
  });
});

/** fixtures/orphan-parent.js running; whatever happens, the test leaves nothing running: it, and the `pids` it announced. */
function startOrphanParent(t, dir, mode = 'busy') {
  const parent = spawn(process.execPath, [orphanParent, dir, mode], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  parent.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
  const exited = once(parent, 'exit');
  const pids = [];
  t.after(() => {
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
  return { parent, exited, pids, stderr: () => stderr };
}

describe('ProcessPool orphans', () => {
  test('ProcessPool children running endless loops exit when their parent is killed with SIGKILL', T, async (t) => {
    const dir = tempDir(t);
    const { parent, exited, pids, stderr } = startOrphanParent(t, dir);
    // Each child names a file after its pid once its endless loop is about to start.
    const names = await settleWithin(filesAppear(dir, 2), 60_000, 'the children announcing themselves');
    pids.push(...names.map(Number));
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(processGone(pid), false, `child ${pid} runs before its parent dies`);

    parent.kill('SIGKILL');
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL', stderr());
    await processesGone(pids, 30_000);
  });

  for (const how of ['SIGINT', 'SIGTERM']) {
    test(`idle ProcessPool children and the processes their tasks started end when their parent dies of ${how} (Ctrl-C reaches the parent only)`, T, async (t) => {
      const dir = tempDir(t);
      const { parent, exited, pids } = startOrphanParent(t, dir, 'idle');
      const children = (await settleWithin(filesAppear(dir, 3), 60_000, 'the children announcing themselves')).filter((name) => name !== 'sleeps').map(Number);
      const sleeps = (await settleWithin(filesAppear(join(dir, 'sleeps'), 2), 60_000, 'the sleeps announced')).map(Number);
      pids.push(...children, ...sleeps);
      assert.equal(pids.length, 4);
      parent.kill(how);
      await exited;
      await processesGone(pids, 30_000);
    });
  }
});
