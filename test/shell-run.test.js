// runCommands: records, ordering, retries, timeouts, halting, the joblog, resuming, output,
// aborting - each proven with real shells, under every spawner (Python, Perl, Node's child_process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkfifoSync } from './fixtures/shell/fifo.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, isForkJoinError, runCommands } from 'forkjoin';
import { fileAppears, processGone, processesGone, settleWithin, tempDir } from './fixtures/helpers.js';
import { bin, collect } from './fixtures/shell/cli.js';

const T = { timeout: 60_000 };
const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

for (const spawner of ['python', 'perl', 'node']) {
  describe(`runCommands (${spawner} spawner)`, () => {
    let saved;
    before(() => { saved = process.env.FORKJOIN_SPAWNER; process.env.FORKJOIN_SPAWNER = spawner; });
    after(() => { if (saved === undefined) delete process.env.FORKJOIN_SPAWNER; else process.env.FORKJOIN_SPAWNER = saved; });

    test('a job sees exactly the environment it was given, whatever the helper does for itself', T, async () => {
      // No LANG or LC_*: a helper that coerces its own locale must not pass that on.
      const env = { PATH: process.env.PATH, FORKJOIN_TEST_VALUE: 'b\u00e9r \u2603' };
      const { results } = await collect(runCommands('env; : {}', ['x'], { env }));
      const seen = results[0].out.split('\n').filter((line) => line !== '' && !line.startsWith('PWD='));
      assert.deepEqual(seen.sort(), [`FORKJOIN_TEST_VALUE=${env.FORKJOIN_TEST_VALUE}`, `PATH=${env.PATH}`]);
    });

    test('an environment value that is not a string reaches the job as child_process would pass it', T, async () => {
      const { results } = await collect(runCommands('echo "$FORKJOIN_TEST_PORT" {}', ['x'], { env: { ...process.env, FORKJOIN_TEST_PORT: 3000 } }));
      assert.equal(results[0].out, '3000 x\n');
    });

    test('a job that succeeds yields a record with every fact', T, async () => {
      const { results, summary } = await collect(runCommands('echo out {}; echo err {} >&2', ['a b'], { jobs: 2 }));
      assert.equal(results.length, 1);
      const r = results[0];
      assert.equal(r.seq, 1);
      assert.equal(r.slot, 1);
      assert.deepEqual(r.values, ['a b']);
      assert.equal(r.command, "echo out 'a b'; echo err 'a b' >&2");
      assert.equal(r.exitCode, 0);
      assert.equal(r.signal, null);
      assert.equal(r.timedOut, false);
      assert.equal(r.failed, false);
      assert.equal(r.out, 'out a b\n');
      assert.equal(r.err, 'err a b\n');
      assert.ok(r.startedAt instanceof Date && !Number.isNaN(r.startedAt.getTime()));
      assert.ok(r.durationMs >= 0);
      assert.equal(r.attempts, 1);
      assert.deepEqual(summary, { jobs: 1, succeeded: 1, failed: 0, skipped: 0, halted: null, haltedBy: null, exitCode: 0 });
    });

    test('a job that fails yields the same record with its exit code', T, async () => {
      const { results, summary } = await collect(runCommands('echo partial; exit {}', ['3']));
      assert.equal(results[0].exitCode, 3);
      assert.equal(results[0].failed, true);
      assert.equal(results[0].out, 'partial\n');
      assert.equal(summary.exitCode, 1);
    });

    test('a job ended by a signal reports the signal and no exit code', T, async () => {
      const { results } = await collect(runCommands('kill -{} $$', ['USR1']));
      assert.equal(results[0].exitCode, null);
      assert.equal(results[0].signal, 'SIGUSR1');
      assert.equal(results[0].failed, true);
    });

    test('the exit status counts failed jobs', T, async () => {
      const { summary } = await collect(runCommands('exit {}', ['0', '1', '2', '0', '3'], { jobs: 2 }));
      assert.equal(summary.failed, 3);
      assert.equal(summary.exitCode, 3);
    });

    test('several sources reach {1} and {2} as one job each', T, async () => {
      const { results } = await collect(runCommands('echo {2}-{1}', [['a', 'x'], ['b', 'y']], { keepOrder: true }));
      assert.deepEqual(results.map((r) => r.out), ['x-a\n', 'y-b\n']);
      assert.deepEqual(results.map((r) => r.values), [['a', 'x'], ['b', 'y']]);
    });

    test('without keepOrder a result comes as soon as its job ends', T, async (t) => {
      // The slow job waits on a fifo that is opened only once the fast job's result arrived.
      const gate = join(tempDir(t), 'gate');
      mkfifoSync(gate);
      const seen = [];
      for await (const r of runCommands(`[ {} = slow ] && cat ${gate} > /dev/null; echo {}`, ['slow', 'fast'], { jobs: 2 })) {
        seen.push(r.values[0]);
        if (r.values[0] === 'fast') writeFileSync(gate, '');
      }
      assert.deepEqual(seen, ['fast', 'slow']);
    });

    test('with keepOrder results come in input order whatever order the jobs end in', T, async (t) => {
      // The slow job waits on a fifo that is opened only once the fast job has finished its work.
      const dir = tempDir(t);
      const gate = join(dir, 'gate');
      mkfifoSync(gate);
      const run = runCommands(`if [ {} = slow ]; then cat ${gate} > /dev/null; else touch ${dir}/fast-done; fi; echo {}`, ['slow', 'fast'], { jobs: 2, keepOrder: true });
      const done = collect(run);
      await settleWithin(fileAppears(join(dir, 'fast-done')), 30_000, 'the fast job');
      writeFileSync(gate, '');
      const { results } = await done;
      assert.deepEqual(results.map((r) => r.out), ['slow\n', 'fast\n']);
    });

    test('every slot is between 1 and jobs', T, async () => {
      const { results } = await collect(runCommands('echo {%}', Array.from({ length: 12 }, (_, i) => String(i)), { jobs: 3 }));
      assert.equal(results.length, 12);
      for (const r of results) {
        assert.ok(r.slot >= 1 && r.slot <= 3, `slot ${r.slot}`);
        assert.equal(r.out, `${r.slot}\n`);
      }
    });

    test('output is binary-safe: all 256 byte values come back unchanged on stdout and stderr', T, async (t) => {
      const file = join(tempDir(t), 'bytes');
      writeFileSync(file, allBytes);
      const run = runCommands('cat {}; cat {} >&2', [file]);
      for await (const r of run) {
        assert.ok(r.stdout.toBuffer().equals(allBytes));
        assert.ok(r.stderr.toBuffer().equals(allBytes));
      }
    });

    test("a job's stdout and stderr are collected apart, each whole", T, async () => {
      const { results } = await collect(runCommands('printf o1; printf e1 >&2; printf o2; printf e2 >&2', ['x']));
      assert.equal(results[0].out, 'o1o2');
      assert.equal(results[0].err, 'e1e2');
    });

    test('a job that closes its output early is reported when it exits', T, async () => {
      const { results } = await collect(runCommands('echo before; exec >&- 2>&-; exit {}', ['5']));
      assert.equal(results[0].out, 'before\n');
      assert.equal(results[0].exitCode, 5);
    });

    test('output past spillBytes goes to a temporary file and reads back whole', T, async () => {
      const run = runCommands('head -c {} /dev/zero | tr "\\0" x', ['100000'], { spillBytes: 1024 });
      for await (const r of run) {
        assert.equal(r.stdout.spilled, true);
        assert.equal(r.stdout.byteLength, 100_000);
        assert.equal(r.stdout.toString(), 'x'.repeat(100_000));
        assert.equal([...r.stdout.chunks(4096)].reduce((n, c) => n + c.length, 0), 100_000);
        r.stdout.release();
        assert.throws(() => r.stdout.toBuffer(), (err) => isForkJoinError(err, ErrorCodes.SHELL_OUTPUT));
      }
    });

    test('retries run a failing job again and report only its last try', T, async (t) => {
      const counter = join(tempDir(t), 'tries');
      const template = `echo try >> ${counter}; n=$(wc -l < ${counter}); echo "try $n"; [ "$n" -ge {} ]`;
      const { results } = await collect(runCommands(template, ['3'], { retries: 5 }));
      assert.equal(results.length, 1);
      assert.equal(results[0].attempts, 3);
      assert.equal(results[0].failed, false);
      assert.equal(results[0].out, 'try 3\n');
    });

    test('retries that run out report the failure with the tries it took', T, async () => {
      const { results, summary } = await collect(runCommands('exit {}', ['7'], { retries: 2 }));
      assert.equal(results[0].attempts, 3);
      assert.equal(results[0].exitCode, 7);
      assert.equal(summary.failed, 1);
    });

    test('a job that outlives its timeout is stopped and reported as timed out', T, async (t) => {
      const dir = tempDir(t);
      // Long enough for the job's first command to run on a loaded machine.
      const { results } = await collect(runCommands(`echo $$ > ${dir}/pid; exec sleep {}`, ['1000'], { timeout: 2_000 }));
      assert.equal(results[0].timedOut, true);
      assert.equal(results[0].failed, true);
      assert.equal(results[0].signal, 'SIGTERM');
      assert.ok(processGone(Number(readFileSync(join(dir, 'pid'), 'utf8'))));
    });

    test('a percentage timeout stops a job that runs far past the median of those that succeeded', T, async () => {
      // 1000% of 0.2 s: a delay in starting a job adds to its time, so only the hanging job can outlive it.
      const { results } = await collect(runCommands('if [ {} = hang ]; then exec sleep 1000; fi; sleep 0.2', ['a', 'b', 'c', 'hang'], { jobs: 1, timeout: '1000%', keepOrder: true }));
      assert.deepEqual(results.map((r) => r.timedOut), [false, false, false, true]);
    });

    test('halt now,fail=1 kills running jobs, starts no more, and exits with the failing status', T, async (t) => {
      const dir = tempDir(t);
      const template = `case {} in slow) echo $$ > ${dir}/slow.pid; exec sleep 1000;; fail) while [ ! -e ${dir}/slow.pid ]; do sleep 0.01; done; exit 4;; *) touch ${dir}/{};; esac`;
      const { results, summary } = await collect(runCommands(template, ['slow', 'fail', 'never'], { jobs: 2, halt: 'now,fail=1', killGraceMs: 200 }));
      assert.deepEqual(results.map((r) => r.values[0]), ['fail']);
      assert.equal(summary.exitCode, 4);
      assert.equal(summary.halted, 'now');
      assert.deepEqual(summary.haltedBy, { seq: 2, command: results[0].command, failed: true });
      assert.equal(existsSync(join(dir, 'never')), false);
      assert.ok(processGone(Number(readFileSync(join(dir, 'slow.pid'), 'utf8'))));
    });

    test('halt now,fail=1 also stops the jobs whose start was on its way when the failure came', T, async () => {
      // Five jobs end with the failing one, so five more start at that moment; none of those may run on.
      const template = 'case {} in f) sleep 0.3; exit 1;; s) sleep 0.3;; *) sleep 2; echo late;; esac';
      const values = ['s', 's', 's', 's', 's', 'f', 'L1', 'L2', 'L3', 'L4', 'L5', 'L6'];
      for (let round = 0; round < 6; round++) {
        const { results, summary } = await collect(runCommands(template, values, { jobs: 6, halt: 'now,fail=1', killGraceMs: 200 }));
        assert.equal(summary.halted, 'now');
        assert.deepEqual(results.filter((r) => r.values[0].startsWith('L')).map((r) => r.values[0]), [], `round ${round}`);
      }
    });

    test('halt soon,fail=2 lets the running job end and starts no more', T, async () => {
      const { results, summary } = await collect(runCommands('exit {}', ['0', '3', '4', '0', '0'], { jobs: 1, halt: 'soon,fail=2' }));
      assert.deepEqual(results.map((r) => r.exitCode), [0, 3, 4]);
      assert.equal(summary.exitCode, 2);
      assert.equal(summary.halted, 'soon');
      assert.deepEqual(summary.haltedBy, { seq: 3, command: 'exit 4', failed: true });
    });

    test('halt now,success=1 stops at the first success and exits 0', T, async () => {
      const { results, summary } = await collect(runCommands('exit {}', ['3', '0', '4'], { jobs: 1, halt: 'now,success=1' }));
      assert.deepEqual(results.map((r) => r.exitCode), [3, 0]);
      assert.equal(summary.exitCode, 0);
    });

    test('the joblog has a line per job in GNU parallel\'s format', T, async (t) => {
      const log = join(tempDir(t), 'jobs.log');
      await collect(runCommands('echo {}; exit {}', ['0', '2'], { joblog: log, jobs: 1 }));
      const lines = readFileSync(log, 'utf8').split('\n');
      assert.equal(lines[0], 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand');
      assert.equal(lines.length, 4);
      assert.equal(lines[3], '');
      for (const [i, exitval] of [[1, '0'], [2, '2']]) {
        const f = lines[i].split('\t');
        assert.equal(f.length, 9);
        assert.equal(f[0], String(i));
        assert.equal(f[1], ':');
        assert.match(f[2], /^\d+\.\d{3}$/);
        assert.match(f[3], /^ *\d+\.\d{3}$/);
        assert.equal(f[3].length, 10);
        assert.deepEqual(f.slice(4), ['0', '2', exitval, '0', `echo ${exitval}; exit ${exitval}`]);
      }
    });

    test('a job that times out on every try is retried, then reported as timed out and logged, as the last job too', T, async (t) => {
      const dir = tempDir(t);
      const tries = join(dir, 'tries');
      const log = join(dir, 'jobs.log');
      const { results, summary } = await collect(runCommands(`echo x >> ${tries}; sleep 30 # {}`, ['a'], { retries: 1, timeout: 1_500, joblog: log }));
      assert.equal(results.length, 1, 'the job is reported once');
      assert.equal(results[0].timedOut, true);
      assert.equal(results[0].failed, true);
      assert.deepEqual([summary.jobs, summary.failed, summary.exitCode], [1, 1, 1]);
      assert.equal(readFileSync(tries, 'utf8'), 'x\nx\n', 'the first try and one retry');
      const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 2, 'the timed-out job has its joblog line');
      assert.deepEqual(lines[1].split('\t').slice(6, 8), ['-1', '15']);
    });

    test('resume skips the jobs the joblog lists and appends the others', T, async (t) => {
      const dir = tempDir(t);
      const log = join(dir, 'jobs.log');
      writeFileSync(log, 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1.000\t     0.001\t0\t0\t0\t0\techo a\n3\t:\t1.000\t     0.001\t0\t0\t1\t0\techo c\n');
      const { results, summary } = await collect(runCommands('echo', ['a', 'b', 'c'], { joblog: log, resume: true }));
      assert.deepEqual(results.map((r) => r.seq), [2]);
      assert.equal(summary.skipped, 2);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(lines.length, 4);
      assert.equal(lines.filter((l) => l.startsWith('Seq\t')).length, 1);
      assert.ok(lines[3].startsWith('2\t:\t'));
    });

    test('resume adds to a joblog with no header (one written with +FILE) and to one whose last line was cut off, losing no line', T, async (t) => {
      const dir = tempDir(t);
      const headless = join(dir, 'plus.log');
      writeFileSync(headless, '1\t:\t1.000\t     0.001\t0\t2\t0\t0\techo a\n');
      assert.deepEqual((await collect(runCommands('echo', ['a', 'b'], { joblog: headless, resume: true }))).results.map((r) => r.seq), [2]);
      assert.deepEqual((await collect(runCommands('echo', ['a', 'b', 'c'], { joblog: headless, resume: true }))).results.map((r) => r.seq), [3]);
      assert.deepEqual(readFileSync(headless, 'utf8').trim().split('\n').map((line) => line.split('\t')[0]), ['1', '2', '3']);
      const cut = join(dir, 'cut.log');
      writeFileSync(cut, 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1.000\t     0.001\t0\t2\t0\t0\techo a\n2\t:\t1.0');
      assert.deepEqual((await collect(runCommands('echo', ['a', 'b', 'c'], { joblog: cut, resume: true, keepOrder: true }))).results.map((r) => r.seq), [2, 3]);
      const lines = readFileSync(cut, 'utf8').trim().split('\n');
      assert.deepEqual(lines.slice(3).map((line) => line.split('\t')[0]).sort(), ['2', '3'], 'the new lines start lines of their own (in the order the jobs ended)');
    });

    test('resumeFailed runs the failed jobs again and skips those that succeeded', T, async (t) => {
      const log = join(tempDir(t), 'jobs.log');
      writeFileSync(log, 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1.000\t     0.001\t0\t0\t0\t0\techo a\n2\t:\t1.000\t     0.001\t0\t0\t1\t0\techo b\n3\t:\t1.000\t     0.001\t0\t0\t-1\t15\techo c\n');
      const { results } = await collect(runCommands('echo', ['a', 'b', 'c'], { joblog: log, resumeFailed: true, keepOrder: true }));
      assert.deepEqual(results.map((r) => r.seq), [2, 3]);
    });

    test('a joblog not in GNU parallel\'s format fails a resumed run with FJ_SHELL_JOBLOG', T, async (t) => {
      const log = join(tempDir(t), 'jobs.log');
      writeFileSync(log, 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\nnot a joblog line\n');
      await assert.rejects(collect(runCommands('echo', ['a'], { joblog: log, resume: true })), (err) => isForkJoinError(err, ErrorCodes.SHELL_JOBLOG));
    });

    test('dryRun starts nothing and yields each command', T, async (t) => {
      const dir = tempDir(t);
      const { results } = await collect(runCommands(`touch ${dir}/{}`, ['x'], { dryRun: true }));
      assert.equal(results[0].command, `touch ${dir}/x`);
      assert.equal(existsSync(join(dir, 'x')), false);
    });

    test('aborting the signal stops running jobs and the iteration rejects with FJ_ABORTED', T, async (t) => {
      const dir = tempDir(t);
      const controller = new AbortController();
      const run = runCommands(`echo $$ > ${dir}/pid.tmp; mv ${dir}/pid.tmp ${dir}/pid; exec sleep 1000`, ['x'], { signal: controller.signal, killGraceMs: 200 });
      const done = collect(run);
      await settleWithin(fileAppears(join(dir, 'pid')), 30_000, 'the job announcing itself');
      controller.abort(new Error('enough'));
      await assert.rejects(done, (err) => isForkJoinError(err, ErrorCodes.ABORTED) && err.cause.message === 'enough');
      assert.ok(processGone(Number(readFileSync(join(dir, 'pid'), 'utf8'))));
    });

    test('breaking out of the loop stops the jobs still running', T, async (t) => {
      const dir = tempDir(t);
      const template = `case {} in quick) while [ ! -e ${dir}/pid ]; do sleep 0.01; done;; slow) echo $$ > ${dir}/pid.tmp; mv ${dir}/pid.tmp ${dir}/pid; exec sleep 1000;; esac`;
      for await (const r of runCommands(template, ['slow', 'quick'], { jobs: 2, killGraceMs: 200 })) {
        assert.equal(r.values[0], 'quick');
        break;
      }
      await processesGone([Number(readFileSync(join(dir, 'pid'), 'utf8'))]);
    });

    test('env and cwd reach the jobs', T, async (t) => {
      const dir = tempDir(t);
      const { results } = await collect(runCommands('echo "$GREETING {}"; pwd', ['x'], { env: { ...process.env, GREETING: 'hello' }, cwd: dir }));
      assert.equal(results[0].out, `hello x\n${dir}\n`);
    });

    test('the shell option picks the shell that runs each command', T, async () => {
      const { results } = await collect(runCommands('echo "${BASH_VERSION:+bash}" {}', ['x'], { shell: 'bash' }));
      assert.equal(results[0].out, 'bash x\n');
    });

    test('a progress listener hears of every job, the last event counting them all', T, async () => {
      const events = [];
      await collect(runCommands('exit {}', ['0', '1', '0'], { progress: (e) => events.push(e) }));
      assert.deepEqual(events.map((e) => e.done).slice(0, 3), [1, 2, 3]);
      const last = events.at(-1);
      assert.deepEqual({ done: last.done, failed: last.failed, total: last.total }, { done: 3, failed: 1, total: 3 });
    });

    test('jobs given as -j forms (+N, N%) bound the job slots', T, async () => {
      const cores = availableParallelism();
      const inputs = Array.from({ length: 3 * cores + 6 }, (_, i) => String(i));
      for (const [jobs, most] of [['+1', cores + 1], ['50%', Math.ceil(cores / 2)], ['-100', 1]]) {
        const { results } = await collect(runCommands('echo {}', inputs, { jobs }));
        assert.ok(results.every((r) => r.slot >= 1 && r.slot <= most), `jobs ${jobs}: slots up to ${Math.max(...results.map((r) => r.slot))}, expected at most ${most}`);
      }
    });

    test('an async iterable of inputs is read lazily and fully', T, async () => {
      async function* values() { for (let i = 1; i <= 5; i++) yield String(i); }
      const { results } = await collect(runCommands('echo {}', values(), { keepOrder: true, jobs: 2 }));
      assert.deepEqual(results.map((r) => r.out), ['1\n', '2\n', '3\n', '4\n', '5\n']);
    });
  });
}

for (const spawner of ['python', 'perl']) {
  test(`bytes that are not UTF-8 reach the command unchanged (${spawner} spawner)`, T, async () => {
    const saved = process.env.FORKJOIN_SPAWNER;
    process.env.FORKJOIN_SPAWNER = spawner;
    try {
      const value = Buffer.from([0x61, 0xff, 0xfe, 0x80, 0x62]);
      const run = runCommands("printf '%s' {}", [value]);
      for await (const r of run) assert.ok(r.stdout.toBuffer().equals(value));
    } finally {
      if (saved === undefined) delete process.env.FORKJOIN_SPAWNER;
      else process.env.FORKJOIN_SPAWNER = saved;
    }
  });
}

test('a python3 that cannot start gives way to Perl, and the run completes', T, (t) => {
  // A python3 that exits at once (a stub, a broken install) stands in for the real one, in a
  // mount namespace of this test's own; needs unshare(1) and user namespaces.
  const probe = spawnSync('unshare', ['-rm', 'true']);
  if (probe.status !== 0) {
    t.skip(`unshare -rm is not available here (${probe.error?.message ?? probe.stderr?.toString().trim()}): cannot stand a broken python3 in`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'forkjoin-fakepy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'python3');
  writeFileSync(fake, '#!/bin/sh\necho "not a working python" >&2\nexit 127\n', { mode: 0o755 });
  const real = realpathSync('/usr/bin/python3');
  const script = `mount --bind "$1" "$2" && exec "$3" "$4" run -k 'echo {}' ::: a b`;
  const child = spawnSync('unshare', ['-rm', 'sh', '-c', script, 'sh', fake, real, process.execPath, bin], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'a\nb\n');
});

test('a command line too long to start fails the run with FJ_SHELL_SPAWN under the node spawner, never silently', T, async () => {
  const saved = process.env.FORKJOIN_SPAWNER;
  process.env.FORKJOIN_SPAWNER = 'node';
  try {
    const run = runCommands('echo {}', ['x'.repeat(300_000)]);
    await assert.rejects(async () => { for await (const r of run) void r; }, (error) => isForkJoinError(error, ErrorCodes.SHELL_SPAWN));
  } finally {
    if (saved === undefined) delete process.env.FORKJOIN_SPAWNER;
    else process.env.FORKJOIN_SPAWNER = saved;
  }
});

test('a progress listener that throws stops the run, which fails with its error', T, async () => {
  const thrown = new Error('listener bug');
  await assert.rejects(collect(runCommands('echo {}', ['a', 'b', 'c'], { jobs: 1, progress: () => { throw thrown; } })), (err) => err === thrown);
});

test('an async progress listener that rejects after the last job fails the run with its error', T, async () => {
  const thrown = new Error('late listener bug');
  // The listener's promise for the last event rejects only after the run has no job left.
  const progress = (e) => e.done < 2 ? undefined : new Promise((_, reject) => setTimeout(() => reject(thrown), 50));
  await assert.rejects(collect(runCommands('echo {}', ['a', 'b'], { jobs: 1, progress })), (err) => err === thrown);
});

test('a shell that is a directory or not executable is refused at the call with FJ_INVALID_ARG_VALUE', (t) => {
  for (const shell of [tempDir(t), '/etc/passwd', 'no-such-shell-anywhere']) {
    assert.throws(() => runCommands('true', ['a'], { shell }), (error) => isForkJoinError(error, ErrorCodes.INVALID_ARG_VALUE), shell);
  }
});

test('a timeout or killGraceMs beyond what a timer can wait (2^31-1 ms) is refused at the call with FJ_INVALID_ARG_VALUE', () => {
  for (const options of [{ timeout: 2 ** 31 }, { timeout: 2 ** 40 }, { killGraceMs: 2 ** 31 }]) {
    assert.throws(() => runCommands('true', ['a'], options),
      (error) => isForkJoinError(error, ErrorCodes.INVALID_ARG_VALUE) && error.message.includes('2147483647'), JSON.stringify(options));
  }
});

describe('the cwd option', () => {
  test('a cwd that does not exist is refused at the call with FJ_INVALID_ARG_VALUE, naming it', (t) => {
    const missing = join(tempDir(t), 'missing');
    assert.throws(() => runCommands('pwd', ['a'], { cwd: missing }),
      (error) => error instanceof RangeError && isForkJoinError(error, ErrorCodes.INVALID_ARG_VALUE) && error.message.includes(missing));
  });

  test('a cwd that is a file is refused at the call with FJ_INVALID_ARG_VALUE, naming it', (t) => {
    const file = join(tempDir(t), 'file');
    writeFileSync(file, '');
    for (const cwd of [file, join(file, 'below')]) {
      assert.throws(() => runCommands('pwd', ['a'], { cwd }),
        (error) => isForkJoinError(error, ErrorCodes.INVALID_ARG_VALUE) && error.message.includes(cwd));
    }
  });

  for (const spawner of ['python', 'perl', 'node']) {
    for (const [gone, replace] of [['removed', () => {}], ['replaced by a file', (dir) => writeFileSync(dir, '')]]) {
      test(`a cwd ${gone} before the run starts fails it with FJ_SHELL_SPAWN naming the cwd, not the spawner (${spawner} spawner)`, T, async (t) => {
        const saved = process.env.FORKJOIN_SPAWNER;
        process.env.FORKJOIN_SPAWNER = spawner;
        t.after(() => { if (saved === undefined) delete process.env.FORKJOIN_SPAWNER; else process.env.FORKJOIN_SPAWNER = saved; });
        const dir = join(tempDir(t), 'jobs');
        mkdirSync(dir);
        const run = runCommands('pwd', ['a', 'b'], { cwd: dir });
        rmSync(dir, { recursive: true });
        replace(dir);
        await assert.rejects(async () => { for await (const r of run) void r; },
          (error) => isForkJoinError(error, ErrorCodes.SHELL_SPAWN) && error.message.includes(dir) && !error.message.includes('FORKJOIN_SPAWNER'));
        assert.equal(run.summary.jobs, 0);
        assert.equal(run.summary.exitCode, 255, 'an error of forkjoin itself, as the command exits');
      });
    }
  }
});

test('a run closed before it was iterated starts nothing, and its summary counts nothing', T, async (t) => {
  const dir = tempDir(t);
  const marker = join(dir, 'ran');
  const run = runCommands(`touch ${marker}-{}`, ['a', 'b']);
  assert.deepEqual({ ...run.summary }, { jobs: 0, succeeded: 0, failed: 0, skipped: 0, halted: null, haltedBy: null, exitCode: 0 });
  assert.deepEqual(await run.return(), { value: undefined, done: true });
  assert.deepEqual(await run.next(), { value: undefined, done: true });
  assert.equal(existsSync(`${marker}-a`), false);
  assert.equal(existsSync(`${marker}-b`), false);
});

test('next() called many times at once before the runner has loaded yields every job once, in order with keepOrder', T, async () => {
  const run = runCommands('echo {}', ['1', '2', '3'], { keepOrder: true });
  const steps = await Promise.all([run.next(), run.next(), run.next(), run.next()]);
  assert.deepEqual(steps.map((s) => (s.done ? 'done' : s.value.stdout.toString().trim())), ['1', '2', '3', 'done']);
  assert.equal(run.summary.jobs, 3);
  assert.equal(run.summary.exitCode, 0);
});
