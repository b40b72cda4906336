// A job that prints far more than memory should hold: `forkjoin run` passes all of it on,
// byte for byte, while its own memory stays bounded (output past the budget is spilled to a
// temporary file). Memory is measured in the runner's own process (its peak RSS), not timed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { tempDir } from './fixtures/helpers.js';
import { bin } from './fixtures/shell/cli.js';

const T = { timeout: 240_000 };
const reportRss = fileURLToPath(new URL('./fixtures/shell/report-rss.js', import.meta.url));
const MB = 1024 * 1024;
const LINE = Buffer.from('0123456789abcde\n');
const BYTES = 200_000_000; // 12,500,000 lines of 16 bytes

/**
 * Runs `forkjoin run ...args` with its peak memory reported; checks its stdout against the
 * repeating LINE as it streams by (nothing is kept). Resolves to { code, bytes, intact, report }.
 */
function runMeasured(t, args, env = process.env) {
  const report = join(tempDir(t), 'rss.json');
  const pattern = Buffer.alloc(LINE.length * 8192 + LINE.length);
  for (let at = 0; at < pattern.length; at += LINE.length) LINE.copy(pattern, at);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', reportRss, bin, 'run', ...args], {
      env: { ...env, FORKJOIN_RSS_REPORT: report }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let intact = true;
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      for (let at = 0; at < chunk.length; at += pattern.length - LINE.length) {
        const piece = chunk.subarray(at, at + pattern.length - LINE.length);
        const offset = (bytes + at) % LINE.length;
        if (!piece.equals(pattern.subarray(offset, offset + piece.length))) intact = false;
      }
      bytes += chunk.length;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk; });
    t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, bytes, intact, stderr, report: JSON.parse(readFileSync(report, 'utf8')) });
      } catch (error) {
        reject(new Error(`no memory report (exit ${code}): ${stderr}`, { cause: error }));
      }
    });
  });
}

for (const spawner of ['python', 'perl', 'node']) {
  describe(`a job printing 200 MB (${spawner} spawner)`, () => {
    const env = { ...process.env, FORKJOIN_SPAWNER: spawner };

    test('reaches stdout whole and in order, and the runner\'s peak RSS stays under 150 MB', T, async (t) => {
      const baseline = await runMeasured(t, ['yes 0123456789abcde | head -c', ':::', '16'], env);
      assert.equal(baseline.code, 0, baseline.stderr);
      const result = await runMeasured(t, ['yes 0123456789abcde | head -c', ':::', String(BYTES)], env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.bytes, BYTES);
      assert.equal(result.intact, true, 'the output is not the 16-byte line repeated');
      const peak = result.report.maxRssBytes;
      const note = `peak RSS ${(peak / MB).toFixed(0)} MB (a 16-byte job: ${(baseline.report.maxRssBytes / MB).toFixed(0)} MB), heap peak ${(result.report.heapPeakBytes / MB).toFixed(0)} MB`;
      t.diagnostic(note);
      assert.ok(peak < 150 * MB, note);
    });
  });
}

/** Runs an ES module `script` (importing 'forkjoin') in a process allowed 96 open files; resolves to { code, stdout, stderr }. */
function runWithFewFiles(script) {
  const child = spawn('sh', ['-c', `ulimit -n 96 && exec "${process.execPath}" --input-type=module -e "$0"`, script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('outputs waiting for their turn', () => {
  test('with few file descriptors left, outputs kept in temporary files wait for their turn without failing the run', T, async () => {
    // Every output goes to a temporary file (spillBytes: 0); the first job ends last, so with keepOrder all the others wait.
    const { code, stdout, stderr } = await runWithFewFiles(`
      import { runCommands } from 'forkjoin';
      const run = runCommands('if [ {} = 1 ]; then sleep 1; fi; echo out {}', Array.from({ length: 400 }, (_, i) => i + 1), { keepOrder: true, jobs: 4, spillBytes: 0 });
      const seen = [];
      for await (const r of run) { seen.push(r.stdout.toString().trim()); r.stdout.release(); r.stderr.release(); }
      const expected = Array.from({ length: 400 }, (_, i) => 'out ' + (i + 1));
      if (JSON.stringify(seen) !== JSON.stringify(expected)) throw new Error('wrong outputs: ' + seen.slice(0, 5).join(','));
      console.log('done', run.summary.exitCode);
    `);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^done 0$/m);
  });

  test('a reader that keeps every record (and so their files open) does not stall the run: past the descriptors, outputs stay in memory', T, async () => {
    const { code, stdout, stderr } = await runWithFewFiles(`
      import { runCommands } from 'forkjoin';
      const run = runCommands('echo out {}', Array.from({ length: 200 }, (_, i) => i + 1), { keepOrder: true, jobs: 4, spillBytes: 0 });
      const kept = [];
      for await (const r of run) kept.push(r);
      const texts = kept.map((r) => r.stdout.toString().trim());
      if (JSON.stringify(texts) !== JSON.stringify(Array.from({ length: 200 }, (_, i) => 'out ' + (i + 1)))) throw new Error('wrong outputs');
      console.log('done', run.summary.exitCode, kept.some((r) => !r.stdout.spilled));
    `);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^done 0 true$/m, 'some outputs stayed in memory once descriptors ran out');
    assert.match(stderr, /no file descriptor left/);
  });
});
