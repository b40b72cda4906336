// Values are data, never code: thousands of random hostile values - $(...), backticks, ;, &&,
// quotes, newlines, globs, leading dashes, any Unicode, raw bytes - reach the command byte for
// byte (printf '%s\0' echoes its arguments), and nothing they hold ever runs.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommands } from 'forkjoin';
import { tempDir } from './fixtures/helpers.js';
import { forkjoinRun } from './fixtures/shell/cli.js';

const T = { timeout: 180_000 };
const SEED = Number(process.env.FORKJOIN_SEED ?? 20_261_121);

/** A small seeded generator (mulberry32), so a failure can be replayed with FORKJOIN_SEED. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pieces that would do something if a shell ever read them as code.
const HOSTILE = [
  '$(touch pwned)', '`touch pwned`', '; touch pwned', '&& touch pwned', '|| touch pwned', '| tee pwned', '> pwned',
  '< /etc/passwd', "'", '"', "'\"'", '\\', '\\n', '$HOME', '${HOME}', '$((1+1))', '$1', '$@', '*', '?', '[a]', '~', '~root',
  '{}', '{.}', '{1}', '{#}', '{a,b}', '!', '#', '& ', '(', ')', '\n', '\r\n', '\t', ' ', '--', '-n', '-e', '--help', '-',
  '%s', '%%', 'é', '日本語', '😀', 'e\u0301', '\u202e', '\u00a0', '\u2028',
];

function randomValue(next) {
  const parts = [];
  const count = 1 + Math.floor(next() * 6);
  for (let i = 0; i < count; i++) {
    const kind = next();
    if (kind < 0.5) parts.push(HOSTILE[Math.floor(next() * HOSTILE.length)]);
    else if (kind < 0.75) parts.push(String.fromCharCode(1 + Math.floor(next() * 126))); // any ASCII but NUL
    else if (kind < 0.9) parts.push(String.fromCodePoint(0x80 + Math.floor(next() * (0xd800 - 0x80)))); // BMP, no surrogates
    else parts.push(String.fromCodePoint(0x10000 + Math.floor(next() * 0xfffff))); // astral planes
  }
  // Leading dashes and spaces on purpose now and then.
  const value = parts.join('');
  return next() < 0.1 ? `-${value}` : value;
}

function randomValues(count, seed) {
  const next = random(seed);
  return Array.from({ length: count }, () => randomValue(next));
}

const echoed = (...values) => Buffer.concat(values.map((v) => Buffer.concat([typeof v === 'string' ? Buffer.from(v) : v, Buffer.from([0])])));

/** A working directory holding one file `a` (for globs to match) and nothing else. */
function workdir(t) {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a'), '');
  return dir;
}

/**
 * Runs `template` over `inputs` in a directory holding only `a`: false when it is refused
 * (FJ_SHELL_TEMPLATE), true when it ran, having created nothing (no value ran as code).
 */
async function refusedOrHarmless(t, template, inputs, shell) {
  const dir = workdir(t);
  let run;
  try {
    run = runCommands(template, inputs, { cwd: dir, timeout: 5_000, shell });
  } catch (error) {
    assert.equal(error.code, 'FJ_SHELL_TEMPLATE', `${JSON.stringify(template)}: ${error.message}`);
    return false;
  }
  for await (const r of run) void r;
  assert.deepEqual(readdirSync(dir), ['a'], `the value ran in ${JSON.stringify(template)}`);
  return true;
}

for (const spawner of ['python', 'perl', 'node']) {
  describe(`hostile values as data (${spawner} spawner)`, () => {
    let saved;
    before(() => { saved = process.env.FORKJOIN_SPAWNER; process.env.FORKJOIN_SPAWNER = spawner; });
    after(() => { if (saved === undefined) delete process.env.FORKJOIN_SPAWNER; else process.env.FORKJOIN_SPAWNER = saved; });
    const count = spawner === 'node' ? 600 : 3000;

    test(`${count} random values reach {} unchanged and run nothing (seed ${SEED})`, T, async (t) => {
      const dir = workdir(t);
      const values = randomValues(count, SEED);
      let n = 0;
      for await (const r of runCommands("printf '%s\\0' {}", values, { jobs: 4, cwd: dir })) {
        const value = values[r.seq - 1];
        assert.ok(r.stdout.toBuffer().equals(echoed(value)), `value ${JSON.stringify(value)} came back as ${JSON.stringify(r.stdout.toString())}`);
        assert.equal(r.exitCode, 0, r.stderr.toString());
        n++;
      }
      assert.equal(n, count);
      assert.deepEqual(readdirSync(dir), ['a']);
    });

    test('random values appended to a template without a replacement string, or inside a word, arrive unchanged', T, async (t) => {
      const dir = workdir(t);
      const values = randomValues(300, SEED + 1);
      for await (const r of runCommands("printf '%s\\0'", values, { jobs: 4, cwd: dir })) {
        assert.ok(r.stdout.toBuffer().equals(echoed(values[r.seq - 1])));
      }
      for await (const r of runCommands("printf '%s\\0' pre{}post", values, { jobs: 4, cwd: dir })) {
        assert.ok(r.stdout.toBuffer().equals(echoed(`pre${values[r.seq - 1]}post`)));
      }
      assert.deepEqual(readdirSync(dir), ['a']);
    });

    test('random values inside "…", \'…\', $(…) and backticks arrive unchanged and run nothing: each is quoted for its place', T, async (t) => {
      const dir = workdir(t);
      const values = randomValues(200, SEED + 6);
      // Command substitution drops trailing newlines: the inner printf ends each value with a dot.
      const templates = [
        [String.raw`printf '%s\0' "{}"`, (v) => v],
        [String.raw`printf '%s\0' 'x{}y'`, (v) => `x${v}y`],
        [String.raw`printf '%s\0' "<$(printf '%s.' "{}")>"`, (v) => `<${v}.>`],
        [String.raw`printf '%s\0' "$(printf '%s.' {})"`, (v) => `${v}.`],
        ["printf '%s\\0' \"`printf '%s.' {}`\"", (v) => `${v}.`],
        ["printf '%s\\0' \"`printf '%s.' \\\"{}\\\"`\"", (v) => `${v}.`],
        ["printf '%s\\0' \"`printf '%s.' '{}'`\"", (v) => `${v}.`],
      ];
      for (const [template, expected] of templates) {
        for await (const r of runCommands(template, values, { jobs: 4, cwd: dir })) {
          const value = values[r.seq - 1];
          assert.ok(r.stdout.toBuffer().equals(echoed(expected(value))), `${template}: ${JSON.stringify(value)} came back as ${JSON.stringify(r.stdout.toString())} ${r.stderr.toString()}`);
        }
      }
      assert.deepEqual(readdirSync(dir), ['a']);
    });

    test('random pairs of values reach {1} and {2} unchanged', T, async (t) => {
      const dir = workdir(t);
      const firsts = randomValues(300, SEED + 2);
      const seconds = randomValues(300, SEED + 3);
      const pairs = firsts.map((v, i) => [v, seconds[i]]);
      for await (const r of runCommands("printf '%s\\0' {2} {1}", pairs, { jobs: 4, cwd: dir })) {
        const [a, b] = pairs[r.seq - 1];
        assert.ok(r.stdout.toBuffer().equals(echoed(b, a)));
      }
      assert.deepEqual(readdirSync(dir), ['a']);
    });
  });
}

test('random templates built of shell syntax (quotes, $(…), backticks, comments, case, escapes, here-documents): a hostile value in them is refused or runs nothing', T, async (t) => {
  const fragments = ['echo ', ' ', '"', "'", '`', '$(', ')', '(', '\\', '#', '\n', ';', 'case x in x) ', ';; esac', '${HOME}', '${X:-a}', 'a', '-',
    '|', '&&', '$', '{', '}', 'printf %s ', ' # c\n', '<<', '"$(', ')"', '\\"', "\\'", '$((1+2))', 'true', '<<E', '<<-E', "<<'E'", '\nE\n', '\n\tE\n', '<<<', '$#'];
  const value = 'x\'"`$(touch pwnA)`;touch pwnB;\ntouch pwnC;$(touch pwnD)\nE\n\tE\ntouch pwnE\\';
  const next = random(SEED + 7);
  let ran = 0;
  for (let n = 0; n < 200; n++) {
    const parts = Array.from({ length: 2 + Math.floor(next() * 8) }, () => fragments[Math.floor(next() * fragments.length)]);
    parts.splice(Math.floor(next() * (parts.length + 1)), 0, '{}');
    if (await refusedOrHarmless(t, `echo ${parts.join('')}`, [value])) ran++;
  }
  assert.ok(ran > 20, `only ${ran} of 200 templates were accepted`);
});

for (const shell of ['/bin/sh', 'bash']) {
  test(`random templates with what dash and bash read apart (((, $'…', $[, a=( … ), CR and VT before #, case in $(…), <(…)) and {2} {3} that inputs may lack: a hostile value is refused or runs nothing (${shell})`, T, async (t) => {
    const fragments = ['echo ', ' ', '"', "'", '`', '$(', ')', '(', '\\', '#', '\n', ';', ';;', '((', '))', '$((', "$'", "\\'", '$[', ']', 'a=(', 'a[', '=',
      'x\r#', 'x\v#', 'case ', ' in ', 'x) ', 'esac', 'echo esac ', 'for x do ', 'time -p ', '<(', '>(', '<<E', "<<'E'", '\nE\n', '$(\n', 'E)', 'alias q=', '|', '&'];
    const value = 'x\'"`touch pwnA`$(touch pwnB);touch pwnC;\ntouch pwnD;)esac;;\nE\nE)\n))\ntouch pwnE #\\';
    const next = random(SEED + 8 + shell.length);
    let ran = 0;
    for (let n = 0; n < 200; n++) {
      // The shape of a misreading: a quote (or parenthesis) the reader may take where the shell does not, the value, a comment ending it.
      const q = ["'", '"', ')', '`'][Math.floor(next() * 4)];
      const parts = Array.from({ length: 1 + Math.floor(next() * 6) }, () => fragments[Math.floor(next() * fragments.length)]);
      parts.push(q);
      for (const slot of ['{1}', ['{2}', '{3}', '{-2}'][Math.floor(next() * 3)]]) parts.splice(Math.floor(next() * (parts.length + 1)), 0, slot);
      if (await refusedOrHarmless(t, `${parts.join('')}{1} #${q}`, [[value], [value, value], [value, value, value]], shell)) ran++;
    }
    assert.ok(ran > 20, `only ${ran} of 200 templates were accepted`);
  });
}

for (const spawner of ['python', 'perl']) {
  test(`random raw bytes (not UTF-8) reach the command unchanged (${spawner} spawner)`, T, async (t) => {
    const saved = process.env.FORKJOIN_SPAWNER;
    process.env.FORKJOIN_SPAWNER = spawner;
    try {
      const dir = workdir(t);
      const next = random(SEED + 4);
      const values = Array.from({ length: 500 }, () => Buffer.from(Array.from({ length: 1 + Math.floor(next() * 12) }, () => 1 + Math.floor(next() * 255))));
      for await (const r of runCommands("printf '%s\\0' {}", values, { jobs: 4, cwd: dir })) {
        assert.ok(r.stdout.toBuffer().equals(echoed(values[r.seq - 1])), `bytes ${values[r.seq - 1].toString('hex')}`);
      }
      assert.deepEqual(readdirSync(dir), ['a']);
    } finally {
      if (saved === undefined) delete process.env.FORKJOIN_SPAWNER;
      else process.env.FORKJOIN_SPAWNER = saved;
    }
  });
}

test('forkjoin run: 2000 random values on NUL-separated stdin come back byte for byte, in order', T, async (t) => {
  const dir = workdir(t);
  const values = randomValues(2000, SEED + 5);
  const input = Buffer.concat(values.map((v) => Buffer.concat([Buffer.from(v), Buffer.from([0])])));
  const result = await forkjoinRun(['-0', '-k', '-j', '4', "printf '%s\\0' {}"], { input, cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stdout.equals(input), 'the output differs from the input');
  assert.deepEqual(readdirSync(dir), ['a']);
});

test('forkjoin run: 500 random values given after ::: come back byte for byte, in order', T, async (t) => {
  const dir = workdir(t);
  const values = randomValues(500, SEED + 6);
  const result = await forkjoinRun(['-k', '-j', '4', "printf '%s\\0' {}", ':::', ...values], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stdout.equals(echoed(...values)), 'the output differs from the values');
  assert.deepEqual(readdirSync(dir), ['a']);
});

// Templates a review found accepted while a value in them ran as code (dash is /bin/sh here), and more found while fixing them.
// Each must be refused (FJ_SHELL_TEMPLATE) or run with the value as data: nothing touched, the value printed.
const DOLLAR = '$(touch PWNED)';
const SEMI = ';touch PWNED;';
const REVIEWED = [
  ['here-doc body: $(…) spanning lines (dash)', ['cat <<EOF\n$(\nEOF\n) {}\nEOF', ':::', DOLLAR]],
  ['here-doc body: backquotes spanning lines (dash)', ['cat <<EOF\n`\nEOF\n#`\n{}\nEOF', ':::', DOLLAR]],
  ['here-doc opened inside a $(…) closed on its line (dash)', ["cat <<A; echo $(cat <<B)\nbody\nA\necho '\nB\n{} #'", ':::', SEMI]],
  ['here-doc inside $(…): bash ends the body at "EOF)"', ['--shell', 'bash', "echo $(cat <<EOF\nx\nEOF)\necho '\nEOF\n) {} #'", ':::', SEMI]],
  ['(( read as two subshells by dash', ['((cat <<EOF #))\nx {}\nEOF\n))', ':::', DOLLAR]],
  ['quotes inside ((…)) (dash)', ['((echo "))" )) ; echo \'"\' {} \' #\'', ':::', SEMI]],
  ['quotes inside ((…)) (bash)', ['--shell', 'bash', '((echo "))" )) ; echo \'"\' {} \' #\'', ':::', SEMI]],
  ["$'…' is no quoting in dash", ["echo $'\\'' {} #'", ':::', SEMI]],
  ['CR before # is inside a word', ["echo a\r# '\n{} #'", ':::', SEMI]],
  ['0xA0 before # is inside a word', ["echo a\u00a0# '\n{} #'", ':::', SEMI]],
  ['a missing column expands to nothing: # after it starts a comment', ['-C', ',', 'echo {2}# "\n{1} #"'], 'touch PWNED\n'],
  ['a missing source expands to nothing: # after it starts a comment', ['echo {3}# "\n{1} #"', ':::', 'touch PWNED', ':::', 'y']],
  ['a missing column before (( (bash)', ['--shell', 'bash', '-C', ',', 'true; {2}(( {1} ))'], `${DOLLAR}\n`],
  // Found while fixing those.
  ['VT and FF before # are inside a word too', ["echo a\v# '\n{} #'\necho b\f# '\n{} #'", ':::', SEMI]],
  ['esac as an argument inside $(…) closes no case', ['echo "$(case x in x) echo esac;; y) echo \'"\';; esac) "{} #\'', ':::', SEMI]],
  ['case as an argument inside $(…) opens no case', ['echo "$(echo case) "{} #") esac)"', ':::', SEMI]],
  ['$((…)) holding a $(…) with a comment', ["echo $(( $(echo 1 #)))'\n) )) ; echo {} #'", ':::', SEMI]],
  ['a here-document inside bash\'s <(…)', ['--shell', 'bash', "cat <(cat <<EOF\nx\nEOF)\necho '\nEOF\n) {} #'", ':::', SEMI]],
  ["bash's $[…] arithmetic", ['--shell', 'bash', 'echo $[ {} ]', ':::', DOLLAR]],
  ['an array subscript, arithmetic in bash', ['--shell', 'bash', 'a[{}]=1', ':::', DOLLAR]],
  ["a subscript in bash's a=( … ), after its first word", ['--shell', 'bash', 'a=(x [{}]=1)', ':::', DOLLAR]],
  ["an error in bash's a=( … ), after which bash goes on at the next line, inside the value", ['--shell', 'bash', 'a=(x ; y) {}', ':::', 'x\ntouch PWNED\n']],
  ['a missing column before an array assignment (bash)', ['--shell', 'bash', '-C', ',', 'x=1 {2} a[{1}]=1'], `${DOLLAR}\n`],
  ['a missing column before case inside $(…)', ['-C', ',', 'echo "$({3} {2} case x in x) echo \'"\';; esac) "{1} #\''], `${SEMI},x\n`],
];

describe('templates a review found unsafe are refused or run nothing', () => {
  for (const [name, args, input] of REVIEWED) {
    test(name, T, async (t) => {
      const dir = workdir(t);
      const result = await forkjoinRun(args, { cwd: dir, input });
      if (result.code === 255 && result.stderr.includes('FJ_SHELL_TEMPLATE')) return;
      assert.deepEqual(readdirSync(dir), ['a'], `the value ran: ${result.stderr}`);
      const value = (input === undefined ? args[args.indexOf(':::') + 1] : input).trimEnd();
      assert.ok(result.stdout.toString().includes(value), `the value did not arrive whole: ${JSON.stringify(result.stdout.toString())}`);
    });
  }
});
