// Compatibility: a fixed table of templates and inputs through `forkjoin run -k` and GNU
// `parallel -k`, requiring byte-identical stdout and the same exit status. GNU parallel must
// be installed (CI installs it: .ci/run); without it the table fails in CI and is skipped,
// loudly, elsewhere.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from './fixtures/helpers.js';
import { forkjoinRun } from './fixtures/shell/cli.js';

const T = { timeout: 120_000 };

const probe = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
const gnuVersion = probe.status === 0 && probe.stdout.startsWith('GNU parallel') ? probe.stdout.split('\n')[0] : null;
if (gnuVersion === null && process.env.CI === undefined) {
  process.stderr.write('\n*** GNU parallel is not installed: the compatibility table is SKIPPED (apt-get install parallel) ***\n\n');
}

/** GNU parallel with the same shell as forkjoin's default, without its citation notice. */
function gnuParallel(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn('parallel', ['--will-cite', ...args], {
      env: { ...process.env, PARALLEL_SHELL: '/bin/sh' }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    let stderr = '';
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    if (input !== undefined) child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

const hostile = ["it's", '$HOME', '`id`', '$(id)', 'a;b', 'a&&b', 'a|b', '<x', '>y', '*', '?', '~', '-n x', 'é', '日本', '😀',
  'a\\b', 'tab\there', '"q"', '#c', '!', '{}', ' lead', 'trail ', ''];
const paths = ['a/b.c/d.e.f', '/x.y', 'y', '.hidden', 'dir/.hid', 'a.b/', '', 'a b/c d.e', 'x/', '/', './a', 'a..b', 'a//b//'];

/** [what it shows, args after -k, stdin (optional)]; FILE1/FILE2 stand for two value files. */
const table = [
  ['{} over a ::: list', ['echo {}', ':::', 'a', 'b', 'c']],
  ['{} {.} {/} {//} {/.} of edge-case paths', ['echo {} {.} {/} {//} {/.}', ':::', ...paths]],
  ['values appended to a template without a replacement string; two sources combined', ['echo', ':::', 'a', 'b', ':::', '1', '2']],
  ['positional {n} with modifiers, {-1} and {#}', ['echo {2} {1} {1.} {2/} {-1} {#}', ':::', 'a.x', 'b.y', ':::', 'd/1', 'e/2']],
  ['hostile values quoted: printed, never run', ['echo {}', ':::', ...hostile]],
  ['hostile values appended', ['printf "[%s]"', ':::', ...hostile]],
  ['a value inside a word', ['echo pre{}post', ':::', 'a b', "c'd"]],
  ['$# and a # right after $(…) start no comment', ['set -- x y; echo $# $(echo x)#y {}', ':::', 'a b']],
  ['values beside and after here-documents', ['cat <<EOF; echo {}\nbody\nEOF\ncat <<-E2\n\tbody 2\n\tE2\necho {}', ':::', 'a b', "c'd"]],
  ['{%} and {#} with one job slot', ['-j1', 'echo {%} {#}', ':::', 'a', 'b', 'c']],
  ['--tag on lines, with output that does not end a line', ['--tag', 'echo out {}; printf noeol', ':::', 'a', 'b c', ':::', '1']],
  ['--dry-run prints quoted commands', ['--dry-run', 'rm -- {} {.}', ':::', 'a b.c', "c'd", '$(id)']],
  ['--dry-run --tag', ['--dry-run', '--tag', 'echo', ':::', 'a', 'b']],
  ['exit status counts failed jobs', ['exit {}', ':::', '0', '1', '2', '0', '3']],
  ['--halt now,fail=1', ['-j1', '--halt', 'now,fail=1', 'echo {}; exit {}', ':::', '0', '3', '0']],
  ['--halt now,fail=1 -k: records waiting behind a job still running are not printed', ['-j3', '--halt', 'now,fail=1', 'if [ {} = slow ]; then sleep 60; fi; echo out {}; [ {} != fail ]', ':::', 'slow', 'fail', 'ok']],
  ['--halt soon,fail=2', ['-j1', '--halt', 'soon,fail=2', 'echo {}; exit {}', ':::', '0', '3', '4', '0']],
  ['--halt now,success=1', ['-j1', '--halt', 'now,success=1', 'echo {}; exit {}', ':::', '3', '0', '4']],
  ['--halt soon,fail=50%', ['-j1', '--halt', 'soon,fail=50%', 'echo {}; exit {}', ':::', '0', '3', '0', '5', '6', '0']],
  ['--retries: the last try counts', ['--retries', '2', 'echo try; exit 1 #', ':::', 'a']],
  ['stdin: an empty line, a carriage return, a last line without newline', ['echo [{}]'], 'a\n\nb c\r\nlast'],
  ['-0: NUL-separated stdin keeps newlines in values', ['-0', 'printf "<%s>" {}'], 'a\nb\0c\0 d\0'],
  ['a NUL byte in an input line is replaced with \\0 and every job runs', ['-j3', 'echo [{}]'], 'a\nx\0y\nz\0\0w\nb\n'],
  [':::: two files combined', ['echo {1}-{2}', '::::', 'FILE1', 'FILE2']],
  ['--colsep splits stdin lines into columns, trimmed; a missing column gives nothing', ['--colsep', ',', 'echo {2} {1} [{3}] [{-1}] [{}]'], 'a,b\n c , d \ne\n,\n\nx,,\n'],
  ['-C splits the values of every source, their columns numbered in turn', ['-C', '-', 'echo {4} {3} {2} {1}', ':::', 'A-B', 'C-D', ':::', 'e-f', 'g-h']],
  ['--colsep takes a regular expression; columns are appended to a template without replacement strings, each quoted', ['--colsep', '\\s*[;|]\\s*', 'printf "[%s]"', ':::', "a ; b|c'd", ' x|  |y ']],
  ['--colsep on a :::: file, with --tag and --dry-run', ['--tag', '--dry-run', '-C', 'a', 'rm {2} {1.}', '::::', 'FILE1']],
  ['--trim n keeps the white space --colsep would trim', ['-C', ',', '--trim', 'n', 'echo [{1}] [{2}]', ':::', ' a , b ']],
  ['--trim l trims only the start of each column', ['-C', ',', '--trim', 'l', 'echo [{1}] [{2}]', ':::', ' a\t, b ']],
  ['--trim without --colsep', ['--trim', 'rl', 'echo [{}]', ':::', ' a ', '\tb c\t']],
  ['--colsep with -0', ['-0', '--colsep', '\t', 'printf "<%s>" {2} {1}'], 'a\tb\nc\0d\te\0'],
  ['-a FILE', ['-a', 'FILE1', 'echo']],
  [':::+ links sources', ['echo {1}={2}', ':::', 'a', 'b', 'c', ':::+', '1', '2', '3', ':::', 'x', 'y']],
  ['an empty source beside others counts as one empty value', ['echo [{1}] [{2}] [{3}]', ':::', 'a', 'b', ':::', ':::', 'c']],
  ['an empty first source beside another', ['echo [{1}] [{2}]', ':::', ':::', 'a']],
  ['every source empty: nothing runs', ['echo [{1}] [{2}]', ':::', ':::']],
  ['an empty source linked to another counts as one empty value, which ends the pairs', ['echo [{1}] [{2}] [{3}]', ':::', 'a', 'b', ':::', ':::+', 'c', 'd']],
  ['a source linked to an empty one', ['echo [{1}] [{2}]', ':::', 'x', 'y', ':::+']],
  ['pipes in the template', ['seq {} | tr 1 X', ':::', '3', '12']],
  ['binary output', ['printf "\\001\\377\\000%s" {}', ':::', 'x', 'y']],
  ['a template of several words', ['echo', 'a  b', ':::', 'x']],
  ['braces that are not replacement strings', ['echo {0} {1x} { } {a} {{}} {}} {{} {..} {./}', ':::', 'a/b.c', ':::', 'd.e']],
  ['--timeout stops a job; its output so far is printed', ['--timeout', '2', 'echo a; sleep {}; echo b', ':::', '30']],
  ['many values in order with -k at 4 jobs', ['-j4', 'echo {#}:{}', ':::', ...Array.from({ length: 40 }, (_, i) => `v${i}`)]],
];

describe(`forkjoin run -k and GNU parallel -k print the same bytes${gnuVersion === null ? '' : ` (${gnuVersion})`}`, () => {
  for (const [shows, row, input] of table) {
    test(shows, T, async (t) => {
      if (gnuVersion === null) {
        if (process.env.CI !== undefined) assert.fail('GNU parallel is not installed; CI must install it (.ci/run: need parallel parallel)');
        t.skip('GNU parallel is not installed');
        return;
      }
      const dir = tempDir(t);
      writeFileSync(join(dir, 'FILE1'), 'f1a\nf1b\n');
      writeFileSync(join(dir, 'FILE2'), 'f2a\n');
      const args = ['-k', ...row.map((arg) => (arg === 'FILE1' || arg === 'FILE2' ? join(dir, arg) : arg))];
      const [ours, theirs] = [await forkjoinRun(args, { input }), await gnuParallel(args, input)];
      assert.equal(ours.stdout.toString('latin1'), theirs.stdout.toString('latin1'), `stdout differs\nforkjoin stderr: ${ours.stderr}\nparallel stderr: ${theirs.stderr}`);
      assert.equal(ours.code, theirs.code, `exit status differs\nforkjoin stderr: ${ours.stderr}\nparallel stderr: ${theirs.stderr}`);
    });
  }
});
