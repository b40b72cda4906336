// Templates: GNU parallel's replacement strings and quoting, proven on the command lines
// runCommands builds (dry runs: nothing is started, but for an input the run cannot read).
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCodes, isForkJoinError, runCommands } from 'forkjoin';
import { fileAppears, settleWithin, tempDir } from './fixtures/helpers.js';
import { collect } from './fixtures/shell/cli.js';

async function commands(template, inputs, options = {}) {
  const { results } = await collect(runCommands(template, inputs, { dryRun: true, keepOrder: true, ...options }));
  return results.map((r) => r.command);
}

describe('replacement strings', () => {
  // [value, {}, {.}, {/}, {//}, {/.}] as GNU parallel 20221122 computes them.
  const paths = [
    ['a/b.c/d.e.f', 'a/b.c/d.e.f', 'a/b.c/d.e', 'd.e.f', 'a/b.c', 'd.e'],
    ['/x.y', '/x.y', '/x', 'x.y', '/', 'x'],
    ['y', 'y', 'y', 'y', '.', 'y'],
    ['.hidden', '.hidden', "''", '.hidden', '.', "''"],
    ['dir/.hid', 'dir/.hid', 'dir/', '.hid', 'dir', "''"],
    ['a.b/', 'a.b/', 'a.b/', "''", '.', "''"],
    ['', "''", "''", "''", '.', "''"],
    ['x/', 'x/', 'x/', "''", '.', "''"],
    ['/', '/', '/', "''", '/', "''"],
    ['./a', './a', './a', 'a', '.', 'a'],
    ['a..b', 'a..b', 'a.', 'a..b', '.', 'a.'],
    ['a//b//', 'a//b//', 'a//b//', "''", 'a', "''"],
  ];
  for (const [value, ...expected] of paths) {
    test(`{} {.} {/} {//} {/.} of ${JSON.stringify(value)} are GNU parallel's`, async () => {
      assert.deepEqual(await commands('echo {} {.} {/} {//} {/.}', [value]), [`echo ${expected.join(' ')}`]);
    });
  }

  test('{#} is the job number and {%} the job slot', async () => {
    assert.deepEqual(await commands('echo {#}-{%}', ['a', 'b', 'c'], { jobs: 1 }), ['echo 1-1', 'echo 2-1', 'echo 3-1']);
  });

  test('a dry run gives {%} the slots that jobs of equal length would take, 1 to jobs in turn', async () => {
    // GNU parallel runs `true` for each job of a dry run, so its {%} depends on when each ended.
    assert.deepEqual(await commands('echo {%}', ['a', 'b', 'c', 'd', 'e'], { jobs: 2 }), ['echo 1', 'echo 2', 'echo 1', 'echo 2', 'echo 1']);
    const { results } = await collect(runCommands('echo {#}', ['a', 'b', 'c', 'd'], { jobs: 3, dryRun: true }));
    assert.deepEqual(results.map((r) => r.slot), [1, 2, 3, 1]);
  });

  test('{1} {2} pick a source; modifiers apply to them; {-1} counts from the end', async () => {
    assert.deepEqual(await commands('cp {1} {2/} {1.} {-1//}', [['a.txt', 'dir/b.txt']]), ['cp a.txt b.txt a dir']);
  });

  test('{} with several sources is every value, each quoted, joined by spaces', async () => {
    assert.deepEqual(await commands('echo {} {.}', [['a b.c', 'd.e']]), ["echo 'a b.c' d.e 'a b' d"]);
  });

  test('a source that does not exist gives nothing at all (not an empty word)', async () => {
    assert.deepEqual(await commands('echo {3} x', [['a', 'b']]), ['echo  x']);
  });

  test('a template without a replacement string gets the values appended', async () => {
    assert.deepEqual(await commands('echo', [['a b', '']]), ["echo 'a b' ''"]);
  });

  test('{#} alone counts as a replacement string (nothing is appended)', async () => {
    assert.deepEqual(await commands('echo {#}', ['x']), ['echo 1']);
  });

  test('braces that are not replacement strings stay as they are; values are never expanded again', async () => {
    assert.deepEqual(await commands('echo {a} { } {..} {{}}', ['{}']), ["echo {a} { } {..} {'{}'}"]);
  });
});

describe('quoting', () => {
  // As GNU parallel quotes: letters, digits and -_.+/ alone are left bare.
  const cases = [
    ['plain-file_1.2+3/x', 'plain-file_1.2+3/x'],
    ['a b', "'a b'"],
    ["it's", `'it'"'"'s'`],
    ["'", `"'"`],
    ['$(touch pwned)', "'$(touch pwned)'"],
    ['`id`', "'`id`'"],
    ['a;b&&c|d', "'a;b&&c|d'"],
    ['*', "'*'"],
    ['~', "'~'"],
    ['-n', '-n'],
    ['é', "'é'"],
    ['line1\nline2', "'line1\nline2'"],
  ];
  for (const [value, quoted] of cases) {
    test(`${JSON.stringify(value)} is quoted as ${quoted}`, async () => {
      assert.deepEqual(await commands('echo {}', [value]), [`echo ${quoted}`]);
    });
  }
});

describe('quoting for the place a value lands', () => {
  const hostile = 'a $(id) `id` \\ " \'b\' ;c';
  test('inside "…", \'…\' and backticks a value is quoted for that place; in plain text as GNU parallel quotes it', async () => {
    assert.deepEqual(await commands('echo {} "{}" \'{}\'', [hostile]), [
      `echo 'a $(id) \`id\` \\ " '"'"'b'"'"' ;c' "a \\$(id) \\\`id\\\` \\\\ \\" 'b' ;c" 'a $(id) \`id\` \\ " '"'"'b'"'"' ;c'`,
    ]);
  });

  test('a template whose places cannot be told for sure is refused, so a value never lands where its quoting fails', () => {
    const unsure = ['echo "${HOME:-"/"}" "{}"', 'echo `true # c` "{}"', '(true)#"{}"', 'echo `#{}`', "echo `# it's` ; echo {}", 'echo "{}'];
    for (const template of unsure) {
      assert.throws(() => runCommands(template, ['a']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE) && /sh -c/.test(err.message), template);
    }
  });

  test('case patterns are followed: their ) closes no $(…)', async () => {
    const gnu = (await commands('echo {}', [hostile]))[0].slice('echo '.length);
    assert.deepEqual(await commands('echo "$(case x in x) echo {};; esac)" "{}"', [hostile]),
      [`echo "$(case x in x) echo ${gnu};; esac)" "a \\$(id) \\\`id\\\` \\\\ \\" 'b' ;c"`]);
    assert.deepEqual(await commands('case {} in (a) echo yes;; esac', [hostile]), [`case ${gnu} in (a) echo yes;; esac`]);
  });

  test('words that only look like what it cannot follow are fine: case in quotes or inside a word, ${name}, an escaped #', async () => {
    assert.deepEqual(await commands('echo "just in case: {}" lower-case "${HOME}/{}" a\\ #"{}"', ['$(id)']),
      ['echo "just in case: \\$(id)" lower-case "${HOME}/\\$(id)" a\\ #"\\$(id)"']);
  });

  test('a # inside a word starts no comment: $#, and a # right after $(…), backticks or quotes', async () => {
    const gnu = (await commands('echo {}', [hostile]))[0].slice('echo '.length);
    for (const template of ['set -- x y; echo $# {}', 'echo $(echo x)#y {}', 'echo `echo x`#y {}', 'echo "a"#b {}', "echo 'a'#b {}", 'echo $#{}']) {
      assert.deepEqual(await commands(template, [hostile]), [template.replace('{}', gnu)], template);
    }
    const inDouble = (await commands('"{}"', [hostile]))[0];
    assert.deepEqual(await commands('echo $(true)#"{}"', [hostile]), [`echo $(true)#${inDouble}`]);
    const { results } = await collect(runCommands('set -- x y; echo $# $(echo x)#y {}', ['a b']));
    assert.equal(results[0].out, '2 x#y a b\n');
  });

  test('a comment is followed: a quote in it does not change how the next line\'s value is quoted', async () => {
    const gnu = (await commands('echo {}', [hostile]))[0].slice('echo '.length);
    assert.deepEqual(await commands("echo # it's\necho {}", [hostile]), [`echo # it's\necho ${gnu}`]);
  });

  test('a value right after an unpaired backslash or in a here-document is refused: no quoting holds there', () => {
    const refused = ['echo "C:\\{}"', 'echo \\{}', 'cat <<E\n{}\nE', 'cat <<"E"\n{}\nE', 'cat <<-E\n\tx\n{}\n\tE', 'cat <<E\nE2\n {}\nE',
      'cat <<A; cat <<B\nA\n{}\nB', 'cat <<{}\nx\n', 'cat <<E\nx\\\nE\n{}\nE', 'cat <<E1\nE{#}\necho {}\nE1', 'cat <<$x\n$x\necho {}',
      'echo `cat <<E\nE\n` {}', 'cat <<E $(echo\n{}\n)\nE', 'cat <<\\\nE\nE\necho {}'];
    for (const template of refused) {
      assert.throws(() => runCommands(template, ['a']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE), JSON.stringify(template));
    }
    // The values appended to a template that ends in a body (or its <<WORD) would land there.
    for (const template of ['cat <<E\nbody\nE', 'cat <<E']) {
      assert.throws(() => runCommands(template, ['a']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE), JSON.stringify(template));
    }
  });

  test('a value outside a here-document\'s body is quoted as anywhere else: after the body, on the line of <<, beside <<- and quoted WORDs, after <<<', async () => {
    const gnu = (await commands('echo {}', [hostile]))[0].slice('echo '.length);
    const templates = ['cat <<EOF\nbody\nEOF\necho {}', 'cat <<EOF; echo {}\nbody\nEOF', 'cat <<< hi; echo {}', 'cat <<-EOF\n\tbody\n\tEOF\necho {}',
      "cat <<'E O' <<\"B\"\n$(x\nE O\n\"\nB\necho {}", 'cat <<EOF\nline {#} $HOME $1 $$\nEOF\necho {}',
      'cat <<EOF # {}\nbody\nEOF', 'cat << EOF;echo \'a\n\' {}\nEOF\nEOF'];
    for (const template of templates) {
      assert.deepEqual(await commands(template, [hostile]), [template.replace('{#}', '1').replace('{}', gnu)], JSON.stringify(template));
    }
    assert.deepEqual(await commands('cat <<E; echo "a\n{}"\nE\nE', [hostile]), [`cat <<E; echo "a\n${(await commands('"{}"', [hostile]))[0].slice(1, -1)}"\nE\nE`]);
  });

  test('the shell agrees: a value after a here-document reaches the command unchanged and runs nothing', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    const value = `$(touch ${dir}/PWNED)\nEOF\n\`touch ${dir}/PWNED\` '"`;
    for (const shell of ['/bin/sh', 'bash']) {
      const template = "cat <<EOF; printf '[%s]' {}\nbody {#}-$#\nEOF\nprintf '<%s>' {}";
      const { results } = await collect(runCommands(template, [value], { shell }));
      assert.equal(results[0].out, `body 1-0\n[${value}]<${value}>`, shell);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  test("a value in arithmetic ($((…)), ((…))) or in bash's $'…' is refused: shells expand $(…) there whatever the quotes", async () => {
    for (const template of ['echo $(( {} + 1 ))', '(( {} ))', 'echo "$(( 2 * {} ))"', "printf '%s' $'{}'", 'echo $(( ({}) ))']) {
      assert.throws(() => runCommands(template, ['$(touch PWNED)']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE) && /arithmetic|bash's \$'/.test(err.message), template);
    }
    // Beside them, values are quoted as anywhere else: after plain $((…)), and after a $'…' that dash and bash end alike.
    assert.deepEqual(await commands("echo $(( 1 + (2) * $# )) $'a\\nb\\\\' {}", ['$(id)']), ["echo $(( 1 + (2) * $# )) $'a\\nb\\\\' '$(id)'"]);
  });

  test('a value in a comment (the `#` that swallows appended values) cannot end it: its newlines become spaces', async () => {
    assert.deepEqual(await commands('echo x #', ['a\necho PWNED']), ["echo x # 'a echo PWNED'"]);
    assert.deepEqual(await commands('echo x # {}\necho y', ['a\nb']), ["echo x # 'a b'\necho y"]);
  });

  test('a backslash-newline inside a word is refused: the shell joins the lines, making $(( or << of what reads as two pieces', () => {
    for (const template of ['echo $\\\n(( {} ))', 'echo $(\\\n( {} ))', 'cat <\\\n<EOF\n{}\nEOF', 'echo "$\\\n{x:-"{}"}"']) {
      assert.throws(() => runCommands(template, ['x[$(touch PWNED)]']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE), JSON.stringify(template));
    }
  });

  test('a backslash-newline between words joins the lines, as in the shell: a # after it starts a comment', async () => {
    const gnu = (await commands('echo {}', [hostile]))[0].slice('echo '.length);
    assert.deepEqual(await commands('echo {} \\\n  and {}', [hostile]), [`echo ${gnu} \\\n  and ${gnu}`]);
    assert.deepEqual(await commands('echo x \\\n# {}', ['a\nb']), ["echo x \\\n# 'a b'"]);
  });

  test('a value right after ${name} or $$ is fine, and so is a backslash-newline after an operator or inside quotes', async () => {
    assert.deepEqual(await commands('echo ${HOME}{} "${HOME}{}" $${}', ['a b']), [`echo \${HOME}'a b' "\${HOME}a b" $$'a b'`]);
    for (const template of ['echo a |\\\ncat {}', 'echo {}\\\n| cat', 'echo {}|\\\ncat', 'echo a &&\\\necho {}', 'echo "abc\\\ndef {}"', 'echo x\\\ny {}']) {
      assert.equal((await commands(template, ['a b'])).length, 1, JSON.stringify(template));
    }
  });

  test('a value right after a $ is refused: its quote would make $\'…\' or $name of it', () => {
    for (const template of ['echo ${}', 'echo "a ${}"', 'echo $\\\n{}']) {
      assert.throws(() => runCommands(template, ['a']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE), JSON.stringify(template));
    }
  });

  test('a backslash paired with another before a value is fine', async () => {
    assert.deepEqual(await commands('echo "C:\\\\{}"', ['$(id)']), ['echo "C:\\\\\\$(id)"']);
  });
});

describe('what dash and bash read apart, or forkjoin does not follow, is refused from there on', () => {
  const refused = (template, why) => assert.throws(() => runCommands(template, [['a']]),
    (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE) && why.test(err.message), JSON.stringify(template));

  test('a value after ((, $[, a $((…)) that is not plain arithmetic, a $\'…\' holding \\\', alias or shopt', () => {
    for (const template of ['((1)); echo {}', '( (1) ); ((2)) {}']) refused(template, /\(\(, which dash reads as two subshells/);
    refused('echo $[1] {}', /\$\[/);
    for (const template of ['echo $(( "1" )) {}', 'echo $(( x#1 )) {}', 'echo $(( $(echo 1) )) {}']) refused(template, /\$\(\(…\)\) holding/);
    refused("echo $'a\\'b' {}", /dash as its end/);
    for (const template of ['a=(x ; y) {}', 'declare a=(x (y)) {}', 'a=(x\n| {})']) refused(template, /array assignment a=\( … \)/);
    for (const template of ["alias q='\"'\nq {} \"", 'shopt -s extglob\necho @(#x|{})']) refused(template, /alias or shopt/);
  });

  test('a value after a here-document inside $(…), backquotes or <(…), or whose unquoted body dash may read past its end', () => {
    for (const template of ['x=$(cat <<EOF\nbody )\nEOF\n); echo "$x" {}', 'echo $(echo x; cat <<E\nE\n) {}', 'cat <(cat <<E\nE\n) {}']) {
      refused(template, /here-document inside/);
    }
    for (const template of ['cat <<EOF\n$(echo x)\nEOF\necho {}', 'cat <<EOF\n`x`\nEOF\necho {}', 'cat <<EOF\na\\b\nEOF\necho {}', 'cat <<EOF\ncost 5$\nEOF\necho {}']) {
      refused(template, /<<'EOF'/);
    }
  });

  test('a value after a case or esac inside $(…) that may or may not be a keyword; in an array subscript; after a # that follows no blank', () => {
    for (const template of ['echo $(for x do case y in y) echo;; esac; done) {}', 'echo "$(time case x in x) echo;; esac)" {}', 'echo $(case x in x) echo;;& esac) {}',
      'echo "$(time -p case x in x) echo;; esac)" {}', 'echo "$(coproc x case x in x) echo;; esac)" {}']) {
      refused(template, /inside \$\(…\) or <\(…\)/);
    }
    for (const template of ['a[{}]=1', 'a=([{}]=1)', 'a=(x [{}]=1)', 'x=1 2>f a[{}]+=1', 'echo $(a[{}]=1)']) refused(template, /array subscript/);
    for (const template of ['echo a\r# {}', 'echo a\v# {}', 'echo a\f# {}', 'echo a\u00a0# {}']) refused(template, /# that may or may not start a comment/);
  });

  test('a {2} that may give nothing is read both ways: where a value after it then lands elsewhere, the template is refused', () => {
    for (const template of ['echo {2}# "\n{1} #"', '<{2}<E\n{1}\nE', 'echo ({2}( {1} ))', 'echo "$({3} {2} case x in x) echo \'"\';; esac) "{1} #\'']) {
      refused(template, /may give nothing/);
    }
  });

  test('values before what is not followed, and everything that reads the same either way, stay accepted', async () => {
    const templates = ['echo {}; ((1))', 'echo {} $(( 1 ))', 'echo {}; cat <<EOF\n$(x)\nEOF', "cat <<'EOF'\n$(x\nEOF\necho {}", 'cat <<EOF\n$HOME $1 $$ $?\nEOF\necho {}',
      'echo "$(case x in (a) echo {};; b|c) echo;; esac)" {}', 'echo $(echo esac case) {}', 'echo "$( (case x in a) echo;; esac) )" {}', 'echo "$(if true; then case x in x) echo;; esac; fi)" {}',
      'echo {2} #', 'echo {2}#', 'echo {1}{2}{3}', 'echo {3} {2} {1}', 'echo {1}:{2}:{3}', 'diff <(sort {1}) <(sort {2})', "echo $'a\\nb' {}", 'echo $(( {#} * 2 )) {}', 'a[0]={}', 'echo [{}] x[{}] a[{}]=1', 'a=({} "{}" x) {}', 'if [ {} = x ]; then [ {} != y ]; fi'];
    for (const template of templates) assert.equal((await commands(template, [['a b', 'c', 'd']])).length, 1, JSON.stringify(template));
    assert.deepEqual(await commands('echo "$(echo esac) "{} #")"', [['a;b']]), ['echo "$(echo esac) "\'a;b\' #")"']);
  });
});

describe('template and input errors', () => {
  test('an empty template fails with FJ_SHELL_TEMPLATE', () => {
    assert.throws(() => runCommands('  ', ['a']), (err) => isForkJoinError(err, ErrorCodes.SHELL_TEMPLATE));
  });

  test('a template that is not a string is a TypeError with FJ_INVALID_ARG_TYPE', () => {
    assert.throws(() => runCommands(42, ['a']), (err) => err instanceof TypeError && err.code === ErrorCodes.INVALID_ARG_TYPE);
  });

  test('inputs that are not iterable are a TypeError with FJ_INVALID_ARG_TYPE', () => {
    assert.throws(() => runCommands('echo', 'abc'), (err) => err instanceof TypeError && err.code === ErrorCodes.INVALID_ARG_TYPE);
  });

  test('an unknown option is a TypeError with FJ_INVALID_ARG_TYPE', () => {
    assert.throws(() => runCommands('echo', [], { job: 2 }), (err) => err.code === ErrorCodes.INVALID_ARG_TYPE);
  });

  test('a bad halt value is a RangeError with FJ_INVALID_ARG_VALUE', () => {
    assert.throws(() => runCommands('echo', [], { halt: 'later,fail=1' }), (err) => err instanceof RangeError && err.code === ErrorCodes.INVALID_ARG_VALUE);
  });

  test('resume without a joblog is a RangeError with FJ_INVALID_ARG_VALUE', () => {
    assert.throws(() => runCommands('echo', [], { resume: true }), (err) => err.code === ErrorCodes.INVALID_ARG_VALUE);
  });

  test('a value holding a NUL byte ends the input there: the jobs before it run to their end and are yielded, then the run fails with FJ_SHELL_INPUT', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t);
    // The first job runs until the input ended; the bad value comes while it runs.
    async function* inputs() {
      yield 'running';
      await settleWithin(fileAppears(join(dir, 'started')), 60_000, 'the first job');
      try {
        yield 'a\0b';
        yield 'never';
      } finally {
        writeFileSync(join(dir, 'release'), '');
      }
    }
    const template = `touch ${dir}/started; while [ ! -e ${dir}/release ]; do sleep 0.05; done; echo {}`;
    const seen = [];
    const run = runCommands(template, inputs(), { jobs: 2 });
    await assert.rejects((async () => { for await (const r of run) seen.push([r.seq, r.stdout.toString(), r.failed]); })(),
      (err) => isForkJoinError(err, ErrorCodes.SHELL_INPUT));
    assert.deepEqual(seen, [[1, 'running\n', false]]);
    assert.equal(run.summary.exitCode, 255);
    await assert.rejects(commands('echo {}', ['a\0b']), (err) => isForkJoinError(err, ErrorCodes.SHELL_INPUT));
  });

  test('an input of the wrong type fails the run with FJ_INVALID_ARG_TYPE', async () => {
    await assert.rejects(commands('echo {}', [{}]), (err) => err.code === ErrorCodes.INVALID_ARG_TYPE);
  });
});
