// `forkjoin run`, the command: options, input sources, output, and GNU parallel's exit statuses,
// each proven by running the built bin.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from './fixtures/helpers.js';
import { bin, forkjoinRun } from './fixtures/shell/cli.js';
import { needScript, onTerminal, screen } from './fixtures/terminal.js';

const T = { timeout: 90_000 };
/** The run's stdout, checked to come from a run that did not fail (its stderr tells why otherwise). */
const out = (result) => {
  assert.ok(result.code !== 255 && result.signal === null, `forkjoin run failed (exit ${result.code}, ${result.signal}): ${result.stderr}`);
  return result.stdout.toString();
};

describe('forkjoin run --help', () => {
  const help = execFileSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8' });
  const lines = help.split('\n');
  const options = ['-j, --jobs', '-k, --keep-order', '--tag', '--joblog', '--resume ', '--resume-failed', '--retries', '--halt', '--timeout',
    '--dry-run', '--bar', '--shell', '-0, --null', '-a, --arg-file', '::: V', ':::: FILE', ':::+',
    '-C, --colsep', '--trim'];
  for (const option of options) {
    test(`documents ${option.trim()} with an example`, () => {
      const at = lines.findIndex((line) => line.trimStart().startsWith(option));
      assert.ok(at >= 0, `${option} is not in the help`);
      assert.ok(lines.slice(at, at + 3).some((line) => line.includes('forkjoin run')), `${option} has no example`);
    });
  }

  test('documents every replacement string', () => {
    for (const rs of ['{}', '{.}', '{/}', '{//}', '{/.}', '{#}', '{%}', '{1}']) assert.ok(help.includes(rs), rs);
  });

  test('forkjoin help run prints the same usage and exits 0', () => {
    assert.equal(execFileSync(process.execPath, [bin, 'help', 'run'], { encoding: 'utf8' }), help);
  });

  test('forkjoin itself calls an unknown word a command and an unknown flag an option, exiting 2', () => {
    for (const [arg, says] of [['frobnicate', 'unknown command "frobnicate"'], ['--bogus', 'unknown option "--bogus"']]) {
      const result = spawnSync(process.execPath, [bin, arg], { encoding: 'utf8' });
      assert.equal(result.status, 2, arg);
      assert.ok(result.stderr.includes(says), result.stderr);
    }
  });

  test('forkjoin demo calls an unknown flag an option, exiting 2', () => {
    const result = spawnSync(process.execPath, [bin, 'demo', '--bogus'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.ok(result.stderr.includes('unknown option "--bogus"'), result.stderr);
  });

  test('an -h after the command belongs to the command', T, async () => {
    const result = await forkjoinRun(['echo', '-h', ':::', 'x']);
    assert.equal(out(result), '-h x\n');
  });
});

describe('exit status', () => {
  test('0 when every job succeeds', T, async () => {
    assert.equal((await forkjoinRun(['true', ':::', 'a', 'b'])).code, 0);
  });

  test('the number of failed jobs', T, async () => {
    assert.equal((await forkjoinRun(['exit {}', ':::', '0', '1', '2', '0', '3'])).code, 3);
  });

  test('101 when more than 100 jobs failed', T, async () => {
    const values = Array.from({ length: 102 }, (_, i) => String(i));
    assert.equal((await forkjoinRun(['-j', '4', 'exit 1 #', ':::', ...values])).code, 101);
  });

  test('the failing job\'s status with --halt now,fail=1', T, async () => {
    const result = await forkjoinRun(['-j', '1', '--halt', 'now,fail=1', 'echo {}; exit {}', ':::', '0', '7', '0']);
    assert.equal(result.code, 7);
    assert.equal(out(result), '0\n7\n');
    assert.equal(result.stderr, 'forkjoin run: --halt now,fail=1: this job failed: echo 7; exit 7\nforkjoin run: the running jobs were killed\n');
  });

  test('--halt soon says on stderr which job halted the run, and that running jobs may end', T, async () => {
    const result = await forkjoinRun(['-j', '1', '--halt', 'soon,success=1', 'exit {}', ':::', '3', '0', '0']);
    assert.equal(result.code, 0);
    assert.equal(result.stderr, 'forkjoin run: --halt soon,success=1: this job succeeded: exit 0\nforkjoin run: starting no more jobs; waiting for the running ones to end\n');
  });

  test('255 for an unknown option', T, async () => {
    const result = await forkjoinRun(['--no-such-option', 'echo', ':::', 'a']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /unknown option/);
  });

  test('255 for a -j whose value is no number of jobs (the command taken for it), saying so', T, async () => {
    const result = await forkjoinRun(['-j', 'echo', ':::', 'a']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /^forkjoin run: -j must be N, N%, \+N, -N or 0 \(as many as possible\); received "echo"/m);
  });

  test('255 for an input file that cannot be read', T, async () => {
    const result = await forkjoinRun(['echo', '::::', '/no/such/file']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /\/no\/such\/file/);
  });

  test('a ::: value that is not UTF-8 (a Latin-1 file name) reaches the job byte for byte', T, () => {
    // Node cannot spawn with such an argument: a shell builds it with printf.
    const script = `exec "$0" "$1" run -k 'printf %s {} | od -An -tx1' ::: "$(printf 'a\\351b')" "$(printf '\\377')" ok`;
    const output = execFileSync('sh', ['-c', script, process.execPath, bin], { encoding: 'utf8' });
    assert.deepEqual(output.split('\n').map((line) => line.trim()), ['61 e9 62', 'ff', '6f 6b', '']);
  });

  test('--dry-run prints a value that is not UTF-8 byte for byte, from :::, a file or standard input', T, (t) => {
    const file = join(tempDir(t), 'latin1.txt');
    writeFileSync(file, Buffer.from([0xe9, 0x2e, 0x79, 0x0a]));
    const script = `"$0" "$1" run -k --dry-run echo ::: "$(printf '\\351.x')" && "$0" "$1" run --dry-run echo :::: "$2" && printf '\\351.z\\n' | "$0" "$1" run --dry-run echo`;
    const output = execFileSync('sh', ['-c', script, process.execPath, bin, file]);
    assert.deepEqual(output, Buffer.concat([Buffer.from("echo '"), Buffer.from([0xe9]), Buffer.from(".x'\necho '"), Buffer.from([0xe9]), Buffer.from(".y'\necho '"), Buffer.from([0xe9]), Buffer.from(".z'\n")]));
  });

  test('a template word and a :::: file name that are not UTF-8 (Latin-1 file names) are used byte for byte', T, (t) => {
    const dir = tempDir(t);
    const cafe = Buffer.concat([Buffer.from(dir + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
    writeFileSync(cafe, 'x\n');
    const inputs = Buffer.concat([Buffer.from(dir + '/in'), Buffer.from([0xe9]), Buffer.from('.txt')]);
    writeFileSync(inputs, 'v1\nv2\n');
    const script = `cd "$2" && "$0" "$1" run -k "$(printf 'cat caf\\351.txt && echo') {}" :::: "$(printf 'in\\351.txt')" && "$0" "$1" run --dry-run "$(printf 'printf \\377')" ::: a`;
    const output = execFileSync('sh', ['-c', script, process.execPath, bin, dir]);
    assert.deepEqual(output, Buffer.concat([Buffer.from('x\nv1\nx\nv2\nprintf '), Buffer.from([0xff]), Buffer.from(' a\n')]));
  });

  test('short options group as GNU parallel groups them: -kj2 is -k -j2, -0k is -0 -k', T, async () => {
    const grouped = await forkjoinRun(['-kj2', 'echo', ':::', 'a', 'b', 'c']);
    assert.equal(grouped.code, 0, grouped.stderr);
    assert.equal(grouped.stdout.toString(), 'a\nb\nc\n');
    const unknown = await forkjoinRun(['-kx', 'echo', ':::', 'a']);
    assert.equal(unknown.code, 255);
    assert.match(unknown.stderr, /unknown option "-x"/);
  });

  test('255 for a bad -j value', T, async () => {
    const result = await forkjoinRun(['-j', 'lots', 'echo', ':::', 'a']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /^forkjoin run: -j must be/m, 'the flag is named as the user wrote it');
  });

  test('255 for a --timeout beyond what a timer can wait, or that is no duration or percentage, in seconds as given', T, async () => {
    for (const [value, said] of [['99999999999', 'at most 2147483 seconds'], ['x%', 'seconds \\(30, 1.5, 2m, 1h30m\\) or a percentage'], ['-1%', 'seconds']]) {
      const result = await forkjoinRun(['--timeout', value, 'echo', ':::', 'a']);
      assert.equal(result.code, 255, value);
      assert.match(result.stderr, new RegExp(`^forkjoin run: --timeout must be .*${said}.*"${value}"\\n\\(forkjoin run --help lists the options\\)\\n$`), value);
    }
  });

  test('a --timeout of 0 or 0% means no timeout, as in GNU parallel', T, async () => {
    for (const value of ['0', '0%']) {
      const result = await forkjoinRun(['--timeout', value, 'echo', ':::', 'a']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), 'a\n');
    }
  });

  test('a bad --halt is a usage error: the help line follows, as after every bad option', T, async () => {
    const result = await forkjoinRun(['--halt', 'now', 'true', ':::', 'a']);
    assert.equal(result.code, 255);
    assert.match(result.stderr, /^forkjoin run: --halt must be .*"now"\n\(forkjoin run --help lists the options\)\n$/);
  });

  test('an error of the run itself ends with its stable code: a template refused, an input file missing', T, async () => {
    const template = await forkjoinRun(['echo $(( {} ))', ':::', 'a']);
    assert.equal(template.code, 255);
    assert.match(template.stderr, /^forkjoin run: .*arithmetic.* \[FJ_SHELL_TEMPLATE\]\n$/);
    const input = await forkjoinRun(['echo', '::::', '/no/such/file']);
    assert.equal(input.code, 255);
    assert.match(input.stderr, /^forkjoin run: .*\/no\/such\/file.* \[FJ_SHELL_INPUT\]\n$/);
  });

  test('255 for a --colsep that is no regular expression, or a --trim that is none of n, l, r, lr, rl', T, async () => {
    const colsep = await forkjoinRun(['--colsep', '(', 'echo', ':::', 'a']);
    assert.equal(colsep.code, 255);
    assert.match(colsep.stderr, /^forkjoin run: --colsep must be a regular expression.*"\("/m);
    const trim = await forkjoinRun(['--trim', 'x', 'echo', ':::', 'a']);
    assert.equal(trim.code, 255);
    assert.match(trim.stderr, /^forkjoin run: --trim must be n, l, r, lr or rl; got "x"/m);
  });

  test('255 when no command is given', T, async () => {
    assert.equal((await forkjoinRun([':::', 'a'])).code, 255);
  });

  test('errors name the flags as written, never the API\'s options: --resume without --joblog', T, async () => {
    const resume = await forkjoinRun(['--resume', 'echo', ':::', 'a']);
    assert.equal(resume.code, 255);
    assert.match(resume.stderr, /^forkjoin run: --resume and --resume-failed need --joblog, the log they read$/m);
    assert.doesNotMatch(resume.stderr, /runCommands|"resume"/);
  });

  test('a NUL byte in an input line is replaced with \\0, as GNU parallel does, with one warning: every job runs and is logged', T, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'values');
    writeFileSync(file, 'a\0b\nc\nd\0e\n');
    const log = join(dir, 'jobs.log');
    const result = await forkjoinRun(['-k', '--joblog', log, 'printf "%s\\n"', '::::', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'a\\0b\nc\nd\\0e\n');
    assert.equal(result.stderr.match(/warning/g)?.length, 1, result.stderr);
    assert.match(result.stderr, /^forkjoin run: warning: .*NUL byte.*line 1 of .*values.*replaced with \\0.*-0/m);
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 4, 'a header and one line a job');
  });
});

describe('input sources', () => {
  test('standard input: one value a line, an empty line included, the last line without a newline too', T, async () => {
    const result = await forkjoinRun(['-k', 'echo [{}]'], { input: 'a\n\nb c\nlast' });
    assert.equal(out(result), '[a]\n[]\n[b c]\n[last]\n');
  });

  test('-0: NUL-separated values keep their newlines', T, async () => {
    const result = await forkjoinRun(['-0', '-k', "printf '<%s>' {}"], { input: 'a\nb\0c\0' });
    assert.equal(out(result), '<a\nb><c>');
  });

  test(':::: reads values from a file; -a too', T, async (t) => {
    const file = join(tempDir(t), 'values');
    writeFileSync(file, 'x\ny\n');
    assert.equal(out(await forkjoinRun(['-k', 'echo', '::::', file])), 'x\ny\n');
    assert.equal(out(await forkjoinRun(['-k', '-a', file, 'echo'])), 'x\ny\n');
  });

  test('several sources give every combination, the first slowest', T, async () => {
    assert.equal(out(await forkjoinRun(['-k', 'echo', ':::', 'a', 'b', ':::', '1', '2'])), 'a 1\na 2\nb 1\nb 2\n');
  });

  test(':::+ links a source to the previous one', T, async () => {
    assert.equal(out(await forkjoinRun(['-k', 'echo {1}={2}', ':::', 'a', 'b', ':::+', '1', '2'])), 'a=1\nb=2\n');
  });

  test('values after ::: may look like options', T, async () => {
    assert.equal(out(await forkjoinRun(['-k', "printf '%s\\n'", ':::', '-k', '--tag', '-j'])), '-k\n--tag\n-j\n');
  });
});

describe('options', () => {
  test('-j 1 runs one job at a time: every {%} is 1', T, async () => {
    assert.equal(out(await forkjoinRun(['-j1', '-k', 'echo {%}', ':::', 'a', 'b', 'c'])), '1\n1\n1\n');
  });

  test('--tag prefixes every line of stdout and stderr with the values and a tab', T, async () => {
    const result = await forkjoinRun(['-k', '--tag', 'echo out; echo err >&2; printf "two\\nlines"', ':::', 'a b', ':::', '1']);
    assert.equal(out(result), 'a b 1\tout\na b 1\ttwo\na b 1\tlines');
    assert.equal(result.stderr, 'a b 1\terr\n');
  });

  test('--dry-run prints each command and runs none', T, async (t) => {
    const dir = tempDir(t);
    const result = await forkjoinRun(['-k', '--dry-run', `touch ${dir}/{}`, ':::', 'a b', 'c']);
    assert.equal(out(result), `touch ${dir}/'a b'\ntouch ${dir}/c\n`);
    assert.equal(existsSync(join(dir, 'c')), false);
  });

  test('--bar draws progress with the count and an ETA on stderr', T, async () => {
    const result = await forkjoinRun(['--bar', 'true', ':::', 'a', 'b', 'c']);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /100% 3\/3/);
    assert.match(result.stderr, /ETA/);
  });

  test("--bar on a terminal: each job's stdout and stderr start a line of their own, below them the bar", T, async (t) => {
    if (!needScript(t)) return;
    const { code, output } = await onTerminal([process.execPath, bin, 'run', '--bar', '-j', '2', 'sleep 0.1; echo {}; echo {} err >&2', ':::', 'a', 'b', 'c', 'd']);
    const lines = screen(output);
    assert.equal(code, 0, lines.join('\n'));
    assert.deepEqual(lines.filter((line) => !line.startsWith('forkjoin run')).sort(), ['a', 'a err', 'b', 'b err', 'c', 'c err', 'd', 'd err'], lines.join('\n'));
    assert.match(lines.at(-1), /^forkjoin run [█]{24} 100% 4\/4 [\d.]+\/s ETA 0s$/, lines.join('\n'));
    assert.equal(lines.length, 9, lines.join('\n'));
  });

  test("--bar on a terminal draws the bar again as soon as a job's output is printed", T, async (t) => {
    if (!needScript(t)) return;
    const { code, output } = await onTerminal([process.execPath, bin, 'run', '--bar', '-j', '1', 'echo {}; echo {} err >&2; sleep 0.5', ':::', 'first', 'second']);
    assert.equal(code, 0, output);
    const between = output.slice(output.indexOf('first err'), output.indexOf('second'));
    assert.match(between, /50% 1\/2/, JSON.stringify(output));
  });

  test('--bar on a terminal shows the counts of jobs that ended together within its redraw interval before the next job ends', T, async (t) => {
    if (!needScript(t)) return;
    const { code, output } = await onTerminal([process.execPath, bin, 'run', '--bar', '-j', '4', 'sleep {}', ':::', '0', '0', '0', '2']);
    assert.equal(code, 0, output);
    assert.match(output, / 3\/4 /, JSON.stringify(output));
  });

  test('--bar with no jobs draws its line once', T, async (t) => {
    const piped = await forkjoinRun(['--bar', 'echo {}', ':::']);
    assert.equal(piped.code, 0);
    assert.match(piped.stderr, /^forkjoin run 0 done [\d.]+\/s 0s\n$/);
    if (!needScript(t)) return;
    const { output } = await onTerminal([process.execPath, bin, 'run', '--bar', 'echo {}', ':::']);
    assert.equal(output.split('0 done').length, 2, JSON.stringify(output));
  });

  test('--bar with stderr not a terminal writes whole lines (no carriage returns), at most one for each tenth of the jobs', T, async () => {
    const result = await forkjoinRun(['--bar', 'true', ':::', ...Array.from({ length: 30 }, (_, i) => String(i))]);
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stderr, /\r|\x1b/);
    const lines = result.stderr.split('\n');
    assert.equal(lines.pop(), '');
    assert.ok(lines.length >= 1 && lines.length <= 11, result.stderr);
    for (const line of lines) assert.match(line, /^forkjoin run [█░]{24} +\d+% \d+\/30 /);
    assert.match(lines.at(-1), /100% 30\/30/);
  });

  test("--bar shows seconds per job (tqdm's s/it) when jobs take longer than a second", T, async () => {
    const result = await forkjoinRun(['--bar', 'sleep {}', ':::', '1.5']);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /100% 1\/1 \d+\.\ds\/it/);
  });

  test('--joblog then --resume: the second run skips the jobs the first one logged', T, async (t) => {
    const log = join(tempDir(t), 'jobs.log');
    assert.equal(out(await forkjoinRun(['-k', '--joblog', log, 'echo', ':::', 'a', 'b'])), 'a\nb\n');
    assert.equal(out(await forkjoinRun(['-k', '--joblog', log, '--resume', 'echo', ':::', 'a', 'b', 'c'])), 'c\n');
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 4);
  });

  test('--retries N tries a failing job N times in all', T, async (t) => {
    const counter = join(tempDir(t), 'tries');
    const result = await forkjoinRun(['--retries', '3', `echo x >> ${counter}; exit 1 #`, ':::', 'a']);
    assert.equal(result.code, 1);
    assert.equal(readFileSync(counter, 'utf8'), 'x\nx\nx\n');
  });

  test('--timeout stops a job that runs too long; it counts as failed', T, async () => {
    const result = await forkjoinRun(['--timeout', '2', 'echo started; exec sleep {}', ':::', '1000']);
    assert.equal(result.code, 1);
    assert.equal(out(result), 'started\n');
    assert.equal(result.stderr, 'forkjoin run: this job was killed because it ran past its --timeout: echo started; exec sleep 1000\n');
  });

  test('--shell picks the shell', T, async () => {
    assert.equal(out(await forkjoinRun(['--shell', '/bin/bash', 'echo ${BASH_VERSION:+bash} {}', ':::', 'x'])), 'bash x\n');
  });
});

describe('working directory', () => {
  test('run from a directory that was removed runs its jobs there and exits, as a shell would', T, async (t) => {
    const dir = join(tempDir(t), 'gone');
    mkdirSync(dir);
    // The early Python helper is started from that directory: it must not outlive the run.
    const child = spawn('sh', ['-c', 'cd "$1" && rmdir "$1" && exec "$2" "$3" run -k "echo {}" ::: a b', 'sh', dir, process.execPath, bin],
      { env: { ...process.env, FORKJOIN_SPAWNER: 'python' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const deadline = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 60_000);
    t.after(() => clearTimeout(deadline));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    const [code, signal] = await once(child, 'close');
    assert.deepEqual({ code, signal, stdout }, { code: 0, signal: null, stdout: 'a\nb\n' }, stderr);
  });
});

describe('output', () => {
  test('every byte value of a job\'s output reaches stdout unchanged', T, async (t) => {
    const file = join(tempDir(t), 'bytes');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    writeFileSync(file, bytes);
    const result = await forkjoinRun(['cat', ':::', file]);
    assert.ok(result.stdout.equals(bytes));
  });

  test('jobs printing at the same time never interleave: each job\'s output is one block', T, async () => {
    // Four jobs at once, each writing 3000 lines one write at a time.
    const result = await forkjoinRun(['-j', '4', 'i=0; while [ $i -lt 3000 ]; do echo "{} $i"; i=$((i+1)); done', ':::', 'a', 'b', 'c', 'd']);
    assert.equal(result.code, 0);
    const lines = out(result).trimEnd().split('\n');
    assert.equal(lines.length, 12_000);
    const blocks = [];
    lines.forEach((line, i) => {
      const [job, n] = line.split(' ');
      if (i === 0 || job !== lines[i - 1].split(' ')[0]) blocks.push(job);
      assert.equal(Number(n), i % 3000, `line ${i} is ${line}`);
    });
    assert.deepEqual([...blocks].sort(), ['a', 'b', 'c', 'd']);
  });

  test('-k prints in input order', T, async () => {
    const values = Array.from({ length: 20 }, (_, i) => String(i));
    assert.equal(out(await forkjoinRun(['-k', '-j', '4', 'echo', ':::', ...values])), values.map((v) => `${v}\n`).join(''));
  });
});

describe('a low limit on open files (ulimit -n 40)', () => {
  for (const spawner of ['python', 'perl', 'node']) {
    test(`-j 50 runs fewer jobs at once, warns why, and loses none (${spawner} spawner)`, T, async () => {
      const values = Array.from({ length: 80 }, (_, i) => String(i));
      const child = spawn('/bin/sh', ['-c', 'ulimit -n 40 && exec "$@"', 'sh', process.execPath, bin, 'run', '-j', '50', 'sleep 0.05; echo {}', ':::', ...values],
        { env: { ...process.env, FORKJOIN_SPAWNER: spawner }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk; });
      child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
      const [code] = await once(child, 'close');
      assert.equal(code, 0, stderr);
      assert.deepEqual(stdout.trimEnd().split('\n').sort((a, b) => a - b), values);
      assert.match(stderr, /^forkjoin run: warning: only \d+ of the 50 jobs asked for can run at once/m);
    });

    test(`with too few file handles to start anything, it fails with exit 255 and says why (${spawner} spawner)`, T, async () => {
      const child = spawn('/bin/sh', ['-c', 'ulimit -n 20 && exec "$@"', 'sh', process.execPath, bin, 'run', 'echo {}', ':::', 'a', 'b'],
        { env: { ...process.env, FORKJOIN_SPAWNER: spawner }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
      child.stdout.resume();
      const [code] = await once(child, 'close');
      assert.equal(code, 255, stderr);
      assert.match(stderr, /^forkjoin run: .*EMFILE/m);
    });
  }
});
